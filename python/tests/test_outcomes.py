"""Several outcomes on the same rows: Holm and Benjamini-Hochberg across every outcome's
coefficients equal statsmodels' ``multipletests`` on the concatenated p-values; the
simultaneous intervals contain the pointwise ones."""

import numpy as np
import pandas as pd
import pytest

import synthgmm

multitest = pytest.importorskip("statsmodels.stats.multitest")


@pytest.fixture
def panel():
    rng = np.random.default_rng(7)
    t = 800
    frame = pd.DataFrame({"x1": rng.normal(size=t), "labeled": np.arange(t) % 5 == 0})
    common = rng.normal(size=t)
    for name, slope in (("a", 0.4), ("b", 0.0), ("c", -0.2)):
        e = (common + rng.normal(size=t)) / np.sqrt(2)
        y = 1 + slope * frame["x1"] + e
        frame[f"y_{name}"] = np.where(frame["labeled"], y, np.nan)
        frame[f"p_{name}"] = y - 0.5 * e + 0.5 * rng.normal(size=t)
    return frame


def _outcomes(frame, **kw):
    return synthgmm.fit_outcomes(frame, x=["x1"], labeled="labeled",
                                 outcomes={k: (f"y_{k}", {"proxy": f"p_{k}"}) for k in "abc"}, **kw)


@pytest.mark.parametrize("method, name", [("holm", "holm"), ("bh", "fdr_bh"), ("bonferroni", "bonferroni")])
def test_adjustments_equal_statsmodels(panel, method, name):
    res = _outcomes(panel)
    raw = np.concatenate([np.asarray(r.pvalues) for r in res.results.values()])
    expected = multitest.multipletests(raw, method=name)[1]
    adjusted = res.adjusted_pvalues(method)
    np.testing.assert_allclose(adjusted["pvalue"].to_numpy(), expected, rtol=1e-12)
    assert list(adjusted.index[0]) == ["a", "Intercept"]
    # Each outcome's fit is the fit of that outcome alone.
    alone = synthgmm.fit(panel, y="y_b", x=["x1"], labeled="labeled", sources={"proxy": "p_b"})
    np.testing.assert_array_equal(res.results["b"].bse.to_numpy(), alone.bse.to_numpy())


def test_simultaneous_critical_value_without_bootstrap_equals_scipys_rectangles(panel):
    """Each outcome's max-|z| distribution from its covariance, multiplied across outcomes
    (the Gaussian correlation inequality), against scipy's multivariate normal rectangle
    probabilities; the tolerance covers the library's Monte-Carlo error (about 0.005 in c,
    four times that)."""
    stats = pytest.importorskip("scipy.stats")
    optimize = pytest.importorskip("scipy.optimize")
    res = _outcomes(panel, small_sample="hc0")
    corrs = []
    for r in res.results.values():
        cov = np.asarray(r.cov_params())
        sd = np.sqrt(np.diag(cov))
        corrs.append(cov / np.outer(sd, sd))

    def inside(c):
        return np.prod([stats.multivariate_normal(np.zeros(len(k)), k).cdf(
            np.full(len(k), c), lower_limit=np.full(len(k), -c)) for k in corrs])

    want = optimize.brentq(lambda c: inside(c) - 0.95, 1.0, 5.0, xtol=1e-8)
    assert abs(res.simultaneous_critical_value(0.05) - want) < 0.02
    joint = res.conf_int(0.05, simultaneous=True)
    each = res.conf_int(0.05, simultaneous=False)
    assert (joint["lower"] < each["lower"]).all() and (joint["upper"] > each["upper"]).all()
    assert "Gaussian correlation inequality" in repr(res)
    assert list(repr(res).splitlines()[1].split()[:2]) == ["a", "Intercept"]


def test_simultaneous_intervals_use_the_bootstrap(panel):
    res = _outcomes(panel, bootstrap=199, seed=3)
    joint = res.conf_int(0.05, simultaneous=True)
    each = res.conf_int(0.05, simultaneous=False)
    assert (joint["lower"] <= each["lower"]).all() and (joint["upper"] >= each["upper"]).all()
    c = res.simultaneous_critical_value(0.05)
    assert 2.0 < c < 4.5
    single = res.adjusted_pvalues("single-step")["pvalue"].to_numpy()
    raw = np.concatenate([np.asarray(r.pvalues) for r in res.results.values()])
    assert (single >= raw - 1e-15).all() and (single <= np.minimum(6 * raw, 1) + 1e-15).all()
    assert "simultaneous 95%" in repr(res) and "bootstrap max-|t|" in repr(res)
