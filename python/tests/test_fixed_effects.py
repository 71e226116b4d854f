"""Fixed effects: the within transformation equals the regression with indicator columns
in statsmodels and linearmodels' PanelOLS (computed live), and estimatr's CR2 (reference
values made in R, tests/data/make_fixed_effects.R)."""

import json

import numpy as np
import pandas as pd
import pytest

import synthgmm
from conftest import DATA

sm = pytest.importorskip("statsmodels.api")
smf = pytest.importorskip("statsmodels.formula.api")


@pytest.fixture
def panel():
    frame = pd.read_csv(DATA / "fixed_effects.csv")
    expected = json.loads((DATA / "fixed_effects.expected.json").read_text())
    return frame, expected


def _labeled(frame):
    return frame[frame["labeled"] == 1].reset_index(drop=True)


@pytest.mark.parametrize("effects", [["firm"], ["firm", "period"]])
def test_hc0_equals_statsmodels_with_indicators(panel, effects):
    frame, _ = panel
    lab = _labeled(frame)
    formula = "y ~ x1 + x2 + " + " + ".join(f"C({e})" for e in effects)
    groups = pd.factorize(lab["firm"])[0]
    ols = smf.ols(formula, lab).fit(cov_type="cluster",
                                    cov_kwds={"groups": groups, "use_correction": False})
    g = len(np.unique(groups))
    res = synthgmm.fit(frame, y="y", x=["x1", "x2"], labeled="labeled", fixed_effects=effects,
                       estimator="real-only", small_sample="hc0")
    np.testing.assert_allclose(res.params.to_numpy(), ols.params[["x1", "x2"]].to_numpy(),
                               rtol=1e-9)
    np.testing.assert_allclose(res.cov_params().to_numpy(),
                               ols.cov_params().loc[["x1", "x2"], ["x1", "x2"]].to_numpy()
                               * g / (g - 1), rtol=1e-8, atol=1e-14)


def test_two_way_equals_linearmodels_panelols(panel):
    """PanelOLS absorbs the firm (entity) and period (other) effects; its clustered
    covariance (``debiased=False``) is CR0 times n / (n - a), a = 40 + 6 - 1 the absorbed
    effects' degrees of freedom, where the crate's ``hc0`` is CR0 times G / (G - 1)."""
    lm = pytest.importorskip("linearmodels")
    frame, _ = panel
    lab = _labeled(frame)
    indexed = lab.assign(row=np.arange(len(lab))).set_index(["firm", "row"])
    model = lm.PanelOLS(indexed["y"], indexed[["x1", "x2"]], entity_effects=True,
                        other_effects=indexed["period"])
    fitted = model.fit(cov_type="clustered", cluster_entity=True, debiased=False)
    res = synthgmm.fit(frame, y="y", x=["x1", "x2"], labeled="labeled",
                       fixed_effects=["firm", "period"], estimator="real-only", small_sample="hc0")
    np.testing.assert_allclose(res.params.to_numpy(), fitted.params.to_numpy(), rtol=1e-9)
    n, g, absorbed = len(lab), 40, 40 + 6 - 1
    cr0 = res.cov_params().to_numpy() * (g - 1) / g
    np.testing.assert_allclose(cr0 * n / (n - absorbed), fitted.cov.to_numpy(), rtol=1e-8,
                               atol=1e-14)


@pytest.mark.parametrize("key, effects", [("one_way", ["firm"]), ("two_way", ["firm", "period"])])
def test_default_is_estimatrs_cr2(panel, key, effects):
    frame, expected = panel
    res = synthgmm.fit(frame, y="y", x=["x1", "x2"], labeled="labeled", fixed_effects=effects,
                       estimator="real-only")
    np.testing.assert_allclose(res.cov_params().to_numpy(), np.array(expected[key]["cov"]),
                               rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(res.coefficient_df, expected[key]["df"], rtol=1e-8)
    # A formula's intercept is absorbed; arrays work as well as names.
    formula = synthgmm.fit("y ~ x1 + x2", data=frame, labeled="labeled", fixed_effects=effects,
                           estimator="real-only")
    np.testing.assert_allclose(formula.params.to_numpy(), res.params.to_numpy(), rtol=1e-12)
    arrays = synthgmm.fit(y=frame["y"].to_numpy(), x=frame[["x1", "x2"]].to_numpy(),
                          labeled=frame["labeled"].to_numpy(),
                          fixed_effects=[frame[e].to_numpy() for e in effects],
                          estimator="real-only")
    np.testing.assert_allclose(arrays.bse, res.bse.to_numpy(), rtol=1e-12)


def test_gmm_with_a_source_reports_the_effects(panel):
    frame, _ = panel
    res = synthgmm.fit(frame, y="y", x=["x1", "x2"], labeled="labeled",
                       sources={"proxy": "proxy"}, fixed_effects=["firm", "period"])
    real = synthgmm.fit(frame, y="y", x=["x1", "x2"], labeled="labeled",
                        fixed_effects=["firm", "period"], estimator="real-only")
    assert any("fixed effects absorbed (40 and 6 levels)" in note for note in res.notes)
    assert (res.bse.to_numpy() < real.bse.to_numpy()).all()


def test_fixed_effects_errors(panel):
    frame, _ = panel
    with pytest.raises(synthgmm.SynthGmmError, match="absorbed by the fixed effects"):
        synthgmm.fit(frame.assign(one=1.0), y="y", x=["one", "x1"], labeled="labeled",
                     intercept=False, fixed_effects="firm", estimator="real-only")
    with pytest.raises(synthgmm.SynthGmmError, match="cannot absorb fixed effects"):
        synthgmm.fit(frame.assign(b=(frame["y"] > 0).astype(float)), y="b", x=["x1"],
                     labeled="labeled", model="logistic", fixed_effects="firm")
