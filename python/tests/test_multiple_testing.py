"""Adjusted p-values against statsmodels' multipletests (live) and simultaneous
intervals against R's multcomp (reference values made by
tests/data/make_multiple_testing.R)."""

import json

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

import synthgmm
from conftest import DATA


@pytest.fixture
def fit():
    frame = pd.read_csv(DATA / "multcomp_n40.csv")
    frame["labeled"] = 1
    return synthgmm.fit(frame, y="y", x=["x1", "x2", "x3"], labeled="labeled",
                        estimator="real-only", small_sample="hc2")


@pytest.mark.parametrize("ours, theirs", [("bonferroni", "bonferroni"), ("holm", "holm"),
                                          ("bh", "fdr_bh")])
def test_adjusted_pvalues_equal_multipletests(fit, ours, theirs):
    want = multipletests(fit.pvalues.to_numpy(), method=theirs)[1]
    np.testing.assert_allclose(fit.adjusted_pvalues(ours).to_numpy(), want, rtol=1e-12)


def test_simultaneous_intervals_use_multcomps_critical_value(fit):
    expected = json.loads((DATA / "multcomp_n40.expected.json").read_text())
    c = fit.simultaneous_critical_value(0.05)
    assert abs(c - expected["calpha"]) < 5e-3
    ci = fit.conf_int(simultaneous=True)
    np.testing.assert_allclose(ci["upper"], fit.params + c * fit.bse, rtol=1e-12)
    single = fit.adjusted_pvalues("single-step").to_numpy()
    np.testing.assert_allclose(single, expected["single_step"], atol=2e-3)
    assert (ci["upper"] - ci["lower"] > np.diff(fit.conf_int().to_numpy(), axis=1)[:, 0]).all()


def test_unknown_adjustment_is_a_clear_error(fit):
    with pytest.raises(synthgmm.InvalidConfigError,
                       match="expected one of: bonferroni, holm, bh, single-step"):
        fit.adjusted_pvalues("sidak")
