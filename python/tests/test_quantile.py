"""Quantiles from Python: the same numbers as the scipy reference (tests/data/make_quantile.py)."""

import numpy as np
import pytest

import synthgmm

from conftest import load


def test_real_only_quantiles_equal_the_reference():
    frame, expected = load("quantile_T3000_n300")
    res = synthgmm.fit(frame, y="y", labeled="labeled", sources={"proxy": "proxy"},
                       model="quantile", quantiles=[0.1, 0.5, 0.9], estimator="real-only")
    reference = expected["smoothed_silverman"]
    np.testing.assert_allclose(np.asarray(res.params), reference["theta"], rtol=1e-9)
    np.testing.assert_allclose(np.asarray(res.bse), reference["hc2"], rtol=1e-8)
    assert list(res.params.index) == ["q0.1", "q0.5", "q0.9"]


def test_the_default_narrows_the_quantiles_intervals():
    frame, _ = load("quantile_T3000_n300")
    args = dict(y="y", labeled="labeled", sources={"proxy": "proxy"}, model="quantile",
                quantiles=[0.5])
    gmm = synthgmm.fit(frame, **args)
    real = synthgmm.fit(frame, estimator="real-only", **args)
    assert float(gmm.bse.iloc[0]) < 0.9 * float(real.bse.iloc[0])


def test_quantile_levels_are_required_and_checked():
    frame, _ = load("quantile_T3000_n300")
    args = dict(y="y", labeled="labeled", sources={"proxy": "proxy"})
    with pytest.raises(synthgmm.SynthGmmError, match="needs the levels"):
        synthgmm.fit(frame, model="quantile", **args)
    with pytest.raises(synthgmm.SynthGmmError, match="apply to model"):
        synthgmm.fit(frame, x=[], model="ols", quantiles=[0.5], **args)
    with pytest.raises(synthgmm.SynthGmmError, match="not in"):
        synthgmm.fit(frame, model="quantile", quantiles=[1.5], **args)
