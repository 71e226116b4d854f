"""DataFrame and array forms, names, tidy outputs, summaries, extras."""

import numpy as np
import pandas as pd
import pytest

import synthgmm


def gmm(df, **kwargs):
    return synthgmm.fit(df, y="y", x=["x1", "x2"], labeled="is_labeled",
                        sources={"proxy": "proxy", "synth": ("synth", ["sx1", "sx2"])}, **kwargs)


def test_frame_round_trip(simulated):
    res = gmm(simulated)
    assert res.names == ["Intercept", "x1", "x2"]
    assert res.estimator == "GMM (proxy + synth)"
    assert isinstance(res.params, pd.Series) and list(res.params.index) == res.names
    assert list(res.conf_int().columns) == ["lower", "upper"]
    assert res.cov_params().shape == (3, 3)
    tidy = res.to_frame()
    assert list(tidy.columns) == ["estimate", "std_error", "statistic", "df", "p_value",
                                  "ci_lower", "ci_upper"]
    assert tidy.index.name == "term"
    np.testing.assert_array_equal(tidy["estimate"].to_numpy(), res.params.to_numpy())
    np.testing.assert_allclose(tidy["statistic"], res.params / res.bse, rtol=1e-12)
    np.testing.assert_allclose(tidy["df"], res.coefficient_df, rtol=1e-12)
    # the same data as arrays give the same numbers, as numpy arrays
    df = simulated
    arrays = synthgmm.fit(
        y=df["y"].to_numpy(), x=df[["x1", "x2"]].to_numpy(), labeled=df["is_labeled"].to_numpy(),
        sources={"proxy": df["proxy"].to_numpy(),
                 "synth": (df["synth"].to_numpy(), df[["sx1", "sx2"]].to_numpy())},
    )
    assert isinstance(arrays.params, np.ndarray)
    np.testing.assert_array_equal(arrays.params, res.params.to_numpy())
    assert arrays.names == ["Intercept", "x1", "x2"]


def test_x_as_frame_in_array_form_names_the_coefficients(simulated):
    df = simulated
    res = synthgmm.fit(y=df["y"], x=df[["x1", "x2"]], labeled=df["is_labeled"],
                       sources={"proxy": df["proxy"]})
    assert res.names == ["Intercept", "x1", "x2"]
    assert isinstance(res.bse, pd.Series)


def test_labeled_as_integers_and_nullable_outcome(simulated):
    df = simulated.copy()
    df["lab01"] = df["is_labeled"].astype(int)
    df["y_nullable"] = df["y"].astype("Float64")  # pd.NA on unlabeled rows
    a = synthgmm.fit(df, y="y_nullable", x=["x1", "x2"], labeled="lab01",
                     sources={"proxy": "proxy"})
    b = synthgmm.fit(df, y="y", x=["x1", "x2"], labeled="is_labeled", sources={"proxy": "proxy"})
    np.testing.assert_array_equal(a.params.to_numpy(), b.params.to_numpy())


def test_summary_and_repr(simulated):
    res = gmm(simulated)
    text = res.summary()
    assert isinstance(text, str) and "J (two-step)" in text and "x2" in text
    assert repr(text) == str(text)
    assert "GMM (proxy + synth)" in repr(res)
    ppi = synthgmm.fit(simulated, y="y", x=["x1", "x2"], labeled="is_labeled",
                       sources={"proxy": "proxy"}, estimator="ppi")
    assert ppi.summary().startswith("PPI++ (proxy)")
    assert ppi.j_test is None and ppi.effective_n is None


def test_j_test_and_effective_n(simulated):
    res = gmm(simulated)
    j = res.j_test
    assert j.df == 6 and 0 <= j.pvalue <= 1
    assert (res.effective_n > 0).all()
    assert res.sources == ["proxy", "synth"]


def test_compare_is_tidy_and_lists_what_did_not_run(simulated):
    table = synthgmm.compare(simulated, y="y", x=["x1", "x2"], labeled="is_labeled",
                             sources={"proxy": "proxy", "synth": ("synth", ["sx1", "sx2"])})
    assert list(table.columns) == ["estimator", "term", "estimate", "std_error", "statistic",
                                   "df", "p_value", "ci_lower", "ci_upper"]
    # Every estimator's default takes t quantiles: a finite df on every row.
    assert np.isfinite(table["df"].to_numpy()).all()
    names = list(dict.fromkeys(table["estimator"]))
    assert names[0] == "Real-only" and names[-1] == "GMM (proxy + synth)"
    assert any(n.startswith("PPI++ (") for n in names) and any("Synth" in n for n in names)
    assert len(table) == 3 * len(names)
    assert table.attrs["not_run"] == {}
    # RePPI refuses observation weights: the others still run
    weighted = synthgmm.compare(simulated, y="y", x=["x1", "x2"], labeled="is_labeled",
                                sources={"proxy": "proxy"}, weights="w",
                                estimators=["real-only", "reppi", "gmm"])
    assert set(weighted["estimator"]) == {"Real-only", "GMM (proxy)"}
    (reason,) = weighted.attrs["not_run"].values()
    assert "weight" in reason


def test_estimator_with_named_sources(simulated):
    a = synthgmm.fit(simulated, y="y", x=["x1", "x2"], labeled="is_labeled",
                     sources={"proxy": "proxy", "synth": "synth"}, estimator="ppi:synth")
    assert a.estimator == "PPI++ (synth)"
    b = synthgmm.fit(simulated, y="y", x=["x1", "x2"], labeled="is_labeled",
                     sources={"proxy": "proxy", "synth": "synth"}, estimator="gmm:synth")
    assert b.sources == ["synth"]


def test_one_sided_and_wald(simulated):
    res = gmm(simulated)
    lo = res.conf_int(0.05, alternative="larger")
    assert np.isinf(lo["upper"]).all()
    z = res.tvalues
    # The default GMM's small-sample correction: t quantiles with each coefficient's
    # Bell-McCaffrey degrees of freedom, below n - p.
    from scipy import stats
    assert res.use_t and res.df_resid == res.n_labeled - 3
    dof = res.coefficient_df
    assert (dof > 0).all() and (dof <= res.df_resid + 1e-9).all()
    expected = stats.t.sf(z.to_numpy(), dof.to_numpy())
    np.testing.assert_allclose(res.pvalues_one_sided("larger").to_numpy(), expected, rtol=1e-10)
    w = res.wald_test(["x2"])
    assert w.df == 1
    np.testing.assert_allclose(w.statistic, z["x2"] ** 2, rtol=1e-10)
    np.testing.assert_allclose(w.pvalue, 2 * stats.t.sf(abs(z["x2"]), dof["x2"]), rtol=1e-9)
    normal = gmm(simulated, small_sample="hc0")
    assert not normal.use_t and normal.df_resid is None and normal.coefficient_df is None
    w2 = res.wald_test(np.array([[0.0, 1.0, -1.0]]), [1.5])
    d = res.params["x1"] - res.params["x2"] - 1.5
    cov = res.cov_params().to_numpy()
    np.testing.assert_allclose(w2.statistic, d ** 2 / (cov[1, 1] + cov[2, 2] - 2 * cov[1, 2]),
                               rtol=1e-10)


def test_clusters_weights_and_diagnostics(simulated):
    res = gmm(simulated, clusters="cluster", weights="w", diagnose=True)
    assert any("97 clusters" in n for n in res.notes), res.notes
    diag = res.diagnostics
    assert list(diag.index) == ["proxy", "synth"]
    assert {"c_stat", "c_df", "c_pvalue", "correlation", "ess_gain"} <= set(diag.columns)


def test_settings_reach_the_estimator(simulated):
    base = gmm(simulated)
    for kwargs in ({"cross_weights": "unrestricted"}, {"small_sample": "hc3"}):
        other = gmm(simulated, **kwargs)
        assert not np.array_equal(other.bse.to_numpy(), base.bse.to_numpy()), kwargs
    # the covariance and weighting choices concern the unrestricted (paper) weights
    paper = gmm(simulated, cross_weights="unrestricted")
    assert paper.covariance == "windmeijer"
    for kwargs in ({"covariance": "reestimated"}, {"weighting": "iterated"},
                   {"weighting": "cue"}, {"step_one": "identity"}):
        other = gmm(simulated, cross_weights="unrestricted", **kwargs)
        assert not np.array_equal(other.bse.to_numpy(), paper.bse.to_numpy()), kwargs


def test_mean_model_ignores_covariates(simulated):
    res = synthgmm.fit(simulated, y="y", labeled="is_labeled", model="mean",
                       sources={"proxy": "proxy"})
    assert res.names == ["mean"]
    real = simulated["y"].dropna()
    real_only = synthgmm.fit(simulated, y="y", labeled="is_labeled", model="mean",
                             estimator="real-only")
    np.testing.assert_allclose(real_only.params["mean"], real.mean(), rtol=1e-12)
    # HC2 for a mean (leverage 1/n) is the textbook standard error, ddof = 1.
    np.testing.assert_allclose(real_only.bse["mean"], real.std(ddof=1) / np.sqrt(len(real)),
                               rtol=1e-10)
    hc0 = synthgmm.fit(simulated, y="y", labeled="is_labeled", model="mean",
                       estimator="real-only", small_sample="hc0")
    np.testing.assert_allclose(hc0.bse["mean"], real.std(ddof=0) / np.sqrt(len(real)),
                               rtol=1e-10)


def test_a_proportions_interval_is_on_the_logit_scale():
    # 4 positives among 50 labeled rows: the closed form of Stata's `proportion`
    # (HC2 = the sample variance with n − 1, t(n − 1) quantiles, logit scale).
    from scipy import stats
    rng = np.random.default_rng(7)
    t, n = 400, 50
    y = np.full(t, np.nan)
    labels = np.zeros(n)
    labels[rng.choice(n, 4, replace=False)] = 1.0
    labeled = np.arange(t) % 8 == 0
    y[labeled] = labels
    frame = pd.DataFrame({"y": y, "labeled": labeled,
                          "llm": (rng.random(t) < 0.1).astype(float)})
    res = synthgmm.fit(frame, y="y", labeled="labeled", model="mean", estimator="real-only")
    p = labels.mean()
    se = np.sqrt(p * (1 - p) / (n - 1))
    centre, spread = np.log(p / (1 - p)), se / (p * (1 - p))
    c = stats.t.ppf(0.975, n - 1)
    expit = lambda v: 1 / (1 + np.exp(-v))
    np.testing.assert_allclose(res.conf_int().to_numpy()[0],
                               [expit(centre - c * spread), expit(centre + c * spread)],
                               rtol=1e-9)
    assert any("logit scale" in note for note in res.notes)
    default = synthgmm.fit(frame, y="y", labeled="labeled", model="mean",
                           sources={"llm": "llm"})
    lower, upper = default.conf_int().to_numpy()[0]
    assert 0 < lower < default.params["mean"] < upper < 1
