"""The generated SQL's passes run by real engines (DuckDB and SQLite, through their
Python packages) give the in-memory fit: every pass over all rows is one query of
sums there, the labeled rows are read once, and the estimate, standard errors and J
statistic equal those of the same rows in memory to 1e-9 relative (the engines sum
in their own order)."""

import sqlite3

import duckdb
import numpy as np
import pandas as pd
import pytest

import synthgmm

COVARIATES = ["one", "x1", "x2"]


def table(model, t=4000, n=300, seed=3):
    """One row per unit: the label, the real outcome (NULL off the labeled rows), the
    covariates, a proxy on them and a synthetic source with its own covariates."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.ones(t), rng.normal(size=(t, 2))])
    sx = np.column_stack([np.ones(t), rng.normal(size=(t, 2))])
    beta = np.array([0.2, 0.5, -0.4])
    eta, s_eta = x @ beta, sx @ beta
    if model == "ols":
        y = eta + rng.normal(size=t)
        proxy = eta + 0.6 * (y - eta) + 0.5 * rng.normal(size=t)
        synth = s_eta + rng.normal(size=t)
    elif model == "logistic":
        y = (rng.uniform(size=t) < 1 / (1 + np.exp(-eta))).astype(float)
        proxy = np.where(rng.uniform(size=t) < 0.8, y, 1 - y)
        synth = (rng.uniform(size=t) < 1 / (1 + np.exp(-s_eta))).astype(float)
    else:
        y = rng.poisson(np.exp(eta)).astype(float)
        proxy = rng.poisson(np.exp(eta) * 0.5 + 0.5 * y).astype(float)
        synth = rng.poisson(np.exp(s_eta)).astype(float)
    labeled = np.zeros(t, dtype=bool)
    labeled[rng.choice(t, n, replace=False)] = True
    frame = pd.DataFrame(x, columns=COVARIATES)
    for j, name in enumerate(["s_one", "s_x1", "s_x2"]):
        frame[name] = sx[:, j]
    frame["is_labeled"] = labeled.astype(int)
    frame["y"] = np.where(labeled, y, np.nan)
    frame["proxy"] = proxy
    frame["synth"] = synth
    return frame


def in_memory(frame, model, **settings):
    x = frame[COVARIATES].to_numpy()
    sx = frame[["s_one", "s_x1", "s_x2"]].to_numpy()
    return synthgmm.fit(y=frame["y"].to_numpy(), x=x, labeled=frame["is_labeled"].to_numpy() == 1,
                        sources={"proxy": (frame["proxy"].to_numpy(), x),
                                 "synth": (frame["synth"].to_numpy(), sx)},
                        model=model, intercept=False, **settings)


SOURCES = {"proxy": ("proxy", COVARIATES), "synth": ("synth", ["s_one", "s_x1", "s_x2"])}


def assert_same(a, b):
    np.testing.assert_allclose(a.params, b.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.bse, b.bse, rtol=1e-9)
    ja, jb = a.j_test, b.j_test
    assert (ja is None) == (jb is None)
    if ja is not None:
        assert ja.df == jb.df
        np.testing.assert_allclose(ja.statistic, jb.statistic, rtol=1e-7, atol=1e-10)
    assert a.nobs == b.nobs and a.n_labeled == b.n_labeled
    assert a.notes == b.notes


@pytest.mark.parametrize("model", ["ols", "logistic", "poisson"])
@pytest.mark.parametrize("cross_weights", ["selected", "unrestricted"])
def test_duckdb_passes_give_the_in_memory_fit(model, cross_weights):
    frame = table(model)
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute("CREATE TABLE runs AS SELECT * FROM frame")
    sql = synthgmm.fit_sql(lambda q: con.execute(q).fetchall(), "runs", labeled="is_labeled",
                           y="y", x=COVARIATES, sources=SOURCES, model=model,
                           cross_weights=cross_weights)
    memory = in_memory(frame, model, cross_weights=cross_weights)
    assert_same(sql, memory)
    assert sql.names == COVARIATES


def weighted(frame, seed=11):
    """The frame with survey weights that depend on x1 (so that they move the fit)."""
    rng = np.random.default_rng(seed)
    frame = frame.copy()
    frame["w"] = np.exp(0.6 * frame["x1"]) * rng.uniform(0.5, 1.5, size=len(frame))
    return frame


@pytest.mark.parametrize("model", ["ols", "logistic", "poisson"])
@pytest.mark.parametrize("cross_weights", ["selected", "unrestricted"])
def test_weighted_duckdb_passes_give_the_weighted_in_memory_fit(model, cross_weights):
    frame = weighted(table(model))
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute("CREATE TABLE runs AS SELECT * FROM frame")
    sql = synthgmm.fit_sql(lambda q: con.execute(q).fetchall(), "runs", labeled="is_labeled",
                           y="y", x=COVARIATES, sources=SOURCES, model=model,
                           cross_weights=cross_weights, weights="w")
    memory = in_memory(frame, model, cross_weights=cross_weights,
                       weights=frame["w"].to_numpy())
    assert_same(sql, memory)
    # The weights were applied: the unweighted fit of the same rows is another.
    unweighted = in_memory(frame, model, cross_weights=cross_weights)
    assert np.max(np.abs(unweighted.params - memory.params) / memory.bse) > 0.01


@pytest.mark.parametrize("model", ["ols", "logistic"])
@pytest.mark.parametrize("with_weights", [False, True])
def test_labeling_probabilities_in_a_column_give_the_in_memory_fit(model, with_weights):
    # An oversampling design: rows with large x1 labeled with three times the
    # probability; the probabilities NULL off the labeled rows, where they are never read.
    frame = weighted(table(model, n=4000, seed=8))  # every outcome, then a design
    rng = np.random.default_rng(2)
    pi = np.clip(0.04 * np.where(frame["x1"] > 0.5, 3.0, 1.0), 0, 1)
    labeled = rng.uniform(size=len(frame)) < pi
    frame["is_labeled"] = labeled.astype(int)
    frame["y"] = np.where(labeled, frame["y"], np.nan)
    frame["pi"] = np.where(labeled, pi, np.nan)
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute("CREATE TABLE runs AS SELECT * FROM frame")
    extra = dict(weights="w") if with_weights else {}
    sql = synthgmm.fit_sql(lambda q: con.execute(q).fetchall(), "runs", labeled="is_labeled",
                           y="y", x=COVARIATES, sources=SOURCES, model=model,
                           labeling_probabilities="pi", **extra)
    arrays = dict(weights=frame["w"].to_numpy()) if with_weights else {}
    memory = in_memory(frame.assign(pi=pi), model, labeling_probabilities=pi, **arrays)
    assert_same(sql, memory)
    at_random = in_memory(frame, model, **arrays)
    assert np.max(np.abs(at_random.params - memory.params) / memory.bse) > 0.01


def test_sqlite_weighs_the_least_squares_passes():
    frame = weighted(table("ols", seed=5))
    con = sqlite3.connect(":memory:")
    frame.to_sql("runs", con, index=False)
    sql = synthgmm.fit_sql(lambda q: con.execute(q).fetchall(), "runs", labeled="is_labeled",
                           y="y", x=COVARIATES, sources=SOURCES, weights="w")
    assert_same(sql, in_memory(frame, "ols", weights=frame["w"].to_numpy()))


def counted(frame):
    """A DuckDB table `runs` holding `frame`, and a query function that records the
    queries it runs."""
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute("CREATE TABLE runs AS SELECT * FROM frame")
    queries = []

    def run(query):
        queries.append(query)
        return con.execute(query).fetchall()

    return run, queries


@pytest.mark.parametrize("bad", [0.0, -1.0, None, float("inf"), float("nan")])
def test_a_bad_weight_on_any_row_is_refused_before_a_pass(bad):
    frame = weighted(table("ols"))
    unlabeled = int(np.flatnonzero(frame["is_labeled"].to_numpy() == 0)[7])
    frame["w"] = frame["w"].astype(object)
    frame.loc[unlabeled, "w"] = bad
    frame["w"] = frame["w"].astype(float)
    run, queries = counted(frame)
    with pytest.raises(synthgmm.InvalidConfigError, match="1 row.*`w`.*positive and finite"):
        synthgmm.fit_sql(run, "runs", labeled="is_labeled", y="y", x=COVARIATES,
                         sources=SOURCES, weights="w")
    assert len(queries) == 1


def test_sqlite_runs_the_least_squares_passes_from_a_subquery():
    frame = table("ols", seed=5)
    con = sqlite3.connect(":memory:")
    frame.to_sql("runs", con, index=False)
    queries = []

    def run(query):
        queries.append(query)
        return con.execute(query).fetchall()

    sql = synthgmm.fit_sql(run, subquery="SELECT * FROM runs WHERE 'a;b' <> ''", alias="r",
                           labeled="is_labeled", y="y", x=COVARIATES, sources=SOURCES)
    assert_same(sql, in_memory(frame, "ols"))
    # The labeled rows and the row count, then one query per pass over all rows.
    assert len(queries) >= 3 and all("FROM (SELECT * FROM runs" in q for q in queries)


def test_a_failing_query_is_a_read_error_naming_the_table():
    frame = table("ols")
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute("CREATE TABLE runs AS SELECT * FROM frame")
    with pytest.raises(synthgmm.ReadError, match=r"(?s)runs.*no_such_column"):
        synthgmm.fit_sql(lambda q: con.execute(q).fetchall(), "runs", labeled="is_labeled",
                         y="y", x=["one", "no_such_column"], sources={})

    def broken(query):
        if "SUM(" in query:
            raise RuntimeError("connection lost")
        return con.execute(query).fetchall()

    with pytest.raises(synthgmm.ReadError, match="connection lost"):
        synthgmm.fit_sql(broken, "runs", labeled="is_labeled", y="y", x=COVARIATES,
                         sources=SOURCES)


def test_bad_specifications_raise_before_any_query():
    never = lambda q: pytest.fail("no query should run")  # noqa: E731
    with pytest.raises(synthgmm.InvalidConfigError, match="subquery"):
        synthgmm.fit_sql(never, subquery="SELECT * FROM t) q; DROP TABLE t; --",
                         labeled="s", y="y", x=["one"], sources={})
    with pytest.raises(synthgmm.InvalidConfigError, match="table"):
        synthgmm.fit_sql(never, labeled="s", y="y", x=["one"], sources={})
    with pytest.raises(synthgmm.InvalidConfigError, match="model"):
        synthgmm.fit_sql(never, "runs", labeled="s", y="y", x=["one"], sources={},
                         model="quantile")


def test_rows_that_are_not_numbers_are_a_read_error():
    with pytest.raises(synthgmm.ReadError, match="not sequences of numbers"):
        synthgmm.fit_sql(lambda q: [("a", "b")], "runs", labeled="s", y="y", x=["one"],
                         sources={})


def clustered(frame, g=80, seed=4):
    """The frame with a string cluster (schools) scattered over the rows and an effect
    shared within each cluster added to every outcome, so that clustering matters."""
    rng = np.random.default_rng(seed)
    frame = frame.copy()
    ids = rng.integers(0, g, size=len(frame))
    frame["school"] = [f"school {i:03d}" for i in ids]
    return frame, ids


@pytest.mark.parametrize("model", ["ols", "logistic", "poisson"])
@pytest.mark.parametrize("cross_weights", ["selected", "unrestricted"])
def test_clustered_duckdb_passes_give_the_clustered_in_memory_fit(model, cross_weights):
    frame, ids = clustered(weighted(table(model, seed=9)))
    if model == "ols":
        shift = np.random.default_rng(1).normal(size=80)[ids]
        for column in ["y", "proxy", "synth"]:
            frame[column] = frame[column] + shift
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute("CREATE TABLE runs AS SELECT * FROM frame")
    for extra in [{}, dict(weights="w")]:
        sql = synthgmm.fit_sql(lambda q: con.execute(q).fetchall(), "runs",
                               labeled="is_labeled", y="y", x=COVARIATES, sources=SOURCES,
                               model=model, cross_weights=cross_weights, clusters="school",
                               **extra)
        arrays = {k: frame[v].to_numpy() for k, v in extra.items()}
        memory = in_memory(frame, model, cross_weights=cross_weights,
                           clusters=frame["school"].to_numpy(), **arrays)
        assert_same(sql, memory)
        # The clusters were applied: the unclustered fit's standard errors are others.
        plain = in_memory(frame, model, cross_weights=cross_weights, **arrays)
        assert np.max(np.abs(plain.bse / memory.bse - 1)) > 1e-3


def test_sqlite_clusters_the_least_squares_passes():
    frame, _ = clustered(table("ols", seed=6))
    con = sqlite3.connect(":memory:")
    frame.to_sql("runs", con, index=False)
    sql = synthgmm.fit_sql(lambda q: con.execute(q).fetchall(), "runs", labeled="is_labeled",
                           y="y", x=COVARIATES, sources=SOURCES, clusters="school")
    assert_same(sql, in_memory(frame, "ols", clusters=frame["school"].to_numpy()))


def test_a_row_without_a_cluster_is_refused_before_a_pass():
    frame, _ = clustered(table("ols"))
    unlabeled = int(np.flatnonzero(frame["is_labeled"].to_numpy() == 0)[3])
    frame.loc[unlabeled, "school"] = None
    run, queries = counted(frame)
    with pytest.raises(synthgmm.InvalidConfigError, match="1 row.*`school`.*no cluster"):
        synthgmm.fit_sql(run, "runs", labeled="is_labeled", y="y", x=COVARIATES,
                         sources=SOURCES, clusters="school")
    assert len(queries) == 1


@pytest.mark.parametrize("extra", [{}, dict(weights="w"), dict(clusters="school")])
def test_linear_iv_in_duckdb_gives_the_in_memory_fit(extra):
    """Linear IV from the generated SQL (x1 instrumented by the column `z`, read on
    every row and for every block): the in-memory fit, plain, weighted and clustered;
    the instruments are required and apply to model='iv' only."""
    frame, _ = clustered(weighted(table("ols", seed=21)))
    rng = np.random.default_rng(5)
    frame["z"] = frame["x1"] + 0.8 * rng.normal(size=len(frame))
    frame["labeled"] = frame["is_labeled"] == 1
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute("CREATE TABLE runs AS SELECT * FROM frame")
    run = lambda q: con.execute(q).fetchall()  # noqa: E731
    iv = dict(model="iv", instruments=["z"], exogenous=["one", "x2"])
    sql = synthgmm.fit_sql(run, "runs", labeled="is_labeled", y="y", x=COVARIATES,
                           sources=SOURCES, **iv, **extra)
    memory = synthgmm.fit(frame, y="y", x=COVARIATES, labeled="labeled", sources=SOURCES,
                          intercept=False, **iv, **extra)
    assert_same(sql, memory)
    assert sql.names == COVARIATES
    ols = synthgmm.fit(frame, y="y", x=COVARIATES, labeled="labeled", sources=SOURCES,
                       intercept=False, **extra)
    assert np.max(np.abs(ols.params - memory.params) / memory.bse) > 1e-3
    with pytest.raises(synthgmm.InvalidConfigError, match="instruments"):
        synthgmm.fit_sql(run, "runs", labeled="is_labeled", y="y", x=COVARIATES,
                         sources=SOURCES, model="iv")
    with pytest.raises(synthgmm.InvalidConfigError, match="model='iv'"):
        synthgmm.fit_sql(run, "runs", labeled="is_labeled", y="y", x=COVARIATES,
                         sources=SOURCES, instruments=["z"])
    with pytest.raises(synthgmm.InvalidConfigError, match="not a covariate"):
        synthgmm.fit_sql(run, "runs", labeled="is_labeled", y="y", x=COVARIATES,
                         sources=SOURCES, model="iv", instruments=["z"], exogenous=["x9"])


@pytest.mark.parametrize("model", ["ols", "logistic", "poisson"])
@pytest.mark.parametrize("estimator", ["ppi", "ppi:synth", "ppi-synth"])
def test_ppi_from_duckdb_passes_gives_the_in_memory_estimate(model, estimator):
    # The unlabeled rows' sums from the stacked pass's all-rows blocks less its
    # labeled ones (three passes along the line of fits for least squares).
    frame = table(model)
    sql = synthgmm.fit_sql(duckdb_runs(frame), "runs", labeled="is_labeled", y="y",
                           x=COVARIATES, sources=SOURCES, model=model, estimator=estimator)
    memory = in_memory(frame, model, estimator=estimator)
    np.testing.assert_allclose(sql.params, memory.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sql.bse, memory.bse, rtol=1e-9)
    assert sql.notes == memory.notes


def test_ppi_with_weights_from_sql_needs_the_rows_in_memory():
    runs = duckdb_runs(weighted(table("ols")))
    with pytest.raises(synthgmm.NeedsInMemoryError, match="observation weights"):
        synthgmm.fit_sql(runs, "runs", labeled="is_labeled", y="y", x=COVARIATES,
                         sources=SOURCES, model="ols", estimator="ppi", weights="w")


def duckdb_runs(frame):
    """A function running a query on a DuckDB table `runs` holding the frame."""
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute("CREATE TABLE runs AS SELECT * FROM frame")
    return lambda q: con.execute(q).fetchall()
