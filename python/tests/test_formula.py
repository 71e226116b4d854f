"""The formula form: ``fit("y ~ x1 + C(g)", data=df, ...)`` through formulaic, checked
against the array form with the same design built by hand and against statsmodels'
formulas on the labeled rows."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import synthgmm

pytest.importorskip("formulaic")


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(11)
    t = 1500
    group = rng.choice(["north", "south", "west"], size=t)
    x1 = rng.normal(size=t)
    z = rng.lognormal(size=t)
    effect = pd.Series(group).map({"north": 0.0, "south": 0.7, "west": -0.4}).to_numpy()
    e = rng.normal(size=t)
    y = 1.0 + 0.8 * x1 + effect + 0.3 * np.log(z) + 0.5 * x1 * (group == "south") + e
    labeled = rng.random(t) < 0.15
    return pd.DataFrame({
        "y": np.where(labeled, y, np.nan),
        "x1": x1,
        "z": z,
        "group": group,
        "gpt_y": y + 0.6 * rng.normal(size=t),
        "synth_y": 0.9 * y + rng.normal(size=t),
        "labeled": labeled,
    })


def _dummies(df):
    """The treatment-coded design of ``1 + x1 + C(group)`` by hand."""
    return pd.DataFrame({
        "Intercept": 1.0,
        "x1": df["x1"],
        "C(group)[T.south]": (df["group"] == "south").astype(float),
        "C(group)[T.west]": (df["group"] == "west").astype(float),
    })


def test_formula_equals_the_array_form_with_dummies(frame):
    res = synthgmm.fit("y ~ x1 + C(group)", data=frame, labeled="labeled",
                       sources={"gpt": "gpt_y ~ x1 + C(group)", "synth": "synth_y"})
    x = _dummies(frame)
    by_hand = synthgmm.fit(y=frame["y"], x=x, labeled=frame["labeled"], intercept=False,
                           sources={"gpt": (frame["gpt_y"], x), "synth": frame["synth_y"]})
    assert res.names == list(x.columns)
    np.testing.assert_allclose(res.params.to_numpy(), by_hand.params.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(res.bse.to_numpy(), by_hand.bse.to_numpy(), rtol=1e-12)
    assert res.nobs == len(frame)


@pytest.mark.parametrize("formula", [
    "y ~ x1 + C(group)",
    "y ~ x1 * C(group) + np.log(z)",
    "y ~ x1 + I(x1 ** 2) - 1",
])
def test_real_only_equals_statsmodels_formulas(frame, formula):
    lab = frame["labeled"].to_numpy()
    ols = smf.ols(formula, data=frame[lab]).fit(cov_type="HC2", use_t=True)
    res = synthgmm.fit(formula, data=frame, labeled="labeled", estimator="real-only",
                       small_sample="hc2")
    # patsy orders the terms by degree, formulaic as written: compare by name.
    assert sorted(res.names) == sorted(ols.params.index)
    np.testing.assert_allclose(res.params.to_numpy(), ols.params[res.names].to_numpy(),
                               rtol=1e-10)
    np.testing.assert_allclose(res.bse.to_numpy(), ols.bse[res.names].to_numpy(), rtol=1e-10)


def test_compare_takes_a_formula(frame):
    table = synthgmm.compare("y ~ x1 + C(group)", frame, labeled="labeled",
                             sources={"gpt": "gpt_y"}, estimators=["real-only", "gmm"])
    assert table["estimator"].nunique() == 2
    assert list(table["term"][:4]) == list(_dummies(frame).columns)


def test_extra_columns_by_name_or_array(frame):
    pi = np.where(frame["x1"] > 0, 0.2, 0.1)
    by_name = synthgmm.fit("y ~ x1", data=frame.assign(pi=pi), labeled="labeled",
                           sources={"gpt": "gpt_y"}, labeling_probabilities="pi")
    by_array = synthgmm.fit("y ~ x1", data=frame, labeled=frame["labeled"].to_numpy(),
                            sources={"gpt": "gpt_y"}, labeling_probabilities=pi)
    np.testing.assert_allclose(by_name.params.to_numpy(), by_array.params.to_numpy(),
                               rtol=1e-14)


@pytest.mark.parametrize("call, message", [
    (lambda df: synthgmm.fit("y ~ nowhere", data=df, labeled="labeled"), "nowhere"),
    (lambda df: synthgmm.fit("~ x1", data=df, labeled="labeled"), "outcome"),
    (lambda df: synthgmm.fit("y ~ x1", labeled="labeled"), "needs data"),
    (lambda df: synthgmm.fit("y ~ x1", data=df, y="y", labeled="labeled"), "neither"),
    (lambda df: synthgmm.fit("y ~ x1", data=df, labeled="missing"), "missing"),
    (lambda df: synthgmm.fit("y ~ x1", data=df, labeled="labeled",
                             sources={"gpt": 3.0}), "formula or a column name"),
    (lambda df: synthgmm.fit(df, data=df, y="y", labeled="labeled"), "once"),
])
def test_formula_mistakes_are_clear_errors(frame, call, message):
    with pytest.raises(synthgmm.InvalidConfigError, match=message):
        call(frame)


def test_a_missing_covariate_is_the_core_error(frame):
    df = frame.copy()
    df.loc[3, "x1"] = np.nan
    with pytest.raises(synthgmm.SynthGmmError, match="NaN .* row 3"):
        synthgmm.fit("y ~ x1", data=df, labeled="labeled", sources={"gpt": "gpt_y"})


def test_side_by_side_has_every_estimate_and_the_effective_n(frame):
    table = synthgmm.compare("y ~ x1", frame, labeled="labeled", sources={"gpt": "gpt_y"},
                             estimators=["real-only", "ppi", "gmm"])
    text = str(table.attrs["side_by_side"])
    assert text == str(synthgmm.side_by_side("y ~ x1", frame, labeled="labeled",
                                             sources={"gpt": "gpt_y"},
                                             estimators=["real-only", "ppi", "gmm"]))
    lines = text.splitlines()
    slope = lines.index(next(line for line in lines if line.startswith("x1")))
    estimates = table[table["term"] == "x1"]
    assert lines[slope].split()[1:] == [f"{v:.4f}" for v in estimates["estimate"]]
    assert lines[slope + 1].split() == [f"({v:.4f})" for v in estimates["std_error"]]
    se = table.pivot(index="term", columns="estimator", values="std_error")
    real = se[estimates["estimator"].iloc[0]]
    n = int(frame["labeled"].sum())
    effective = next(line for line in lines if line.startswith("effective n")).split()[2:]
    for name, shown in zip(estimates["estimator"], effective):
        expected = n * np.median((real / se[name]) ** 2)
        assert abs(float(shown) - expected) <= 0.5, (name, shown, expected)
    # The GMM's J test, in its column only (the last), as its own fit reports it.
    gmm = synthgmm.fit("y ~ x1", frame, labeled="labeled", sources={"gpt": "gpt_y"})
    j_row = next(line for line in lines if line.startswith("J (df)")).split()[2:]
    assert j_row == [f"{gmm.j_test.statistic:.2f}", f"({gmm.j_test.df})"]


def test_plan_and_design_take_a_formula(frame):
    x = _dummies(frame)
    arrays = dict(labeled=frame["labeled"], intercept=False,
                  sources={"gpt": (frame["gpt_y"], x)})
    by_formula = synthgmm.plan("y ~ x1 + C(group)", frame, labeled="labeled",
                               sources={"gpt": "gpt_y ~ x1 + C(group)"})
    by_hand = synthgmm.plan(y=frame["y"], x=x, **arrays)
    np.testing.assert_allclose(np.asarray(by_formula.se(200, 3000)),
                               np.asarray(by_hand.se(200, 3000)), rtol=1e-12)
    strata = np.where(frame["x1"] > 0, "high", "low")
    chosen = synthgmm.design("y ~ x1 + C(group)", frame.assign(stratum=strata),
                             labeled="labeled", sources={"gpt": "gpt_y ~ x1 + C(group)"},
                             budget=100, design="stratified", strata="stratum")
    same = synthgmm.design(y=frame["y"], x=x, budget=100, design="stratified", strata=strata,
                           **arrays)
    np.testing.assert_allclose(chosen.probabilities, same.probabilities, rtol=1e-12)
