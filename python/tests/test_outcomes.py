"""Several outcomes on the same rows: Holm and Benjamini-Hochberg across every outcome's
coefficients equal statsmodels' ``multipletests`` on the concatenated p-values; the
joint covariance from the fits' influence equals linearmodels' SUR for least squares;
the simultaneous critical values equal scipy's multivariate normal rectangles (from the
joint covariance, or from each outcome's with the bound); the simultaneous intervals
contain the pointwise ones."""

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


def _critical_value(corrs):
    """c with the product over blocks of P(max |Z| <= c) = 0.95, Z normal with each
    block's correlation (scipy's rectangle probabilities)."""
    stats = pytest.importorskip("scipy.stats")
    optimize = pytest.importorskip("scipy.optimize")

    def inside(c):
        return np.prod([stats.multivariate_normal(np.zeros(len(k)), k).cdf(
            np.full(len(k), c), lower_limit=np.full(len(k), -c)) for k in corrs])

    return optimize.brentq(lambda c: inside(c) - 0.95, 1.0, 5.0, xtol=1e-8)


def _correlation(cov):
    sd = np.sqrt(np.diag(cov))
    return cov / np.outer(sd, sd)


def test_simultaneous_critical_value_from_the_joint_covariance(panel):
    """fit_outcomes computes each fit's influence; max-|z| under the correlation of the
    joint covariance sum_u phi_u phi_u' (from ``Result.influence``) against scipy's
    rectangle probabilities; the tolerance covers the library's Monte-Carlo error
    (about 0.005 in c, four times that)."""
    res = _outcomes(panel, small_sample="hc0")
    assert res.simultaneous_from == "influence"
    phi = np.hstack([r.influence for r in res.results.values()])
    assert phi.shape == (len(panel), 6)
    want = _critical_value([_correlation(phi.T @ phi)])
    assert abs(res.simultaneous_critical_value(0.05) - want) < 0.02
    joint = res.conf_int(0.05, simultaneous=True)
    each = res.conf_int(0.05, simultaneous=False)
    assert (joint["lower"] < each["lower"]).all() and (joint["upper"] > each["upper"]).all()
    assert "joint covariance" in repr(res)
    assert list(repr(res).splitlines()[1].split()[:2]) == ["a", "Intercept"]


def test_bound_without_influence_equals_scipys_rectangles(panel):
    """Fits without their influence: each outcome's max-|z| distribution from its
    covariance, multiplied across outcomes (the Gaussian correlation inequality), against
    scipy's rectangle probabilities; never below the joint covariance's value."""
    results = {k: synthgmm.fit(panel, y=f"y_{k}", x=["x1"], labeled="labeled",
                               sources={"proxy": f"p_{k}"}, small_sample="hc0") for k in "abc"}
    res = synthgmm.Outcomes(results)
    assert res.simultaneous_from == "bound"
    assert all(r.influence is None for r in results.values())
    corrs = [_correlation(np.asarray(r.cov_params())) for r in results.values()]
    assert abs(res.simultaneous_critical_value(0.05) - _critical_value(corrs)) < 0.02
    joint = _outcomes(panel, small_sample="hc0").simultaneous_critical_value(0.05)
    assert res.simultaneous_critical_value(0.05) > joint
    assert "Gaussian correlation inequality" in repr(res)


def test_real_only_influence_is_statsmodels_hc0_and_linearmodels_sur(panel):
    """The real-only fits' influence: phi'phi is statsmodels' HC0 covariance of each
    outcome's OLS on the labeled rows, and the two outcomes' cross block is
    linearmodels' SUR robust covariance (equation-by-equation OLS), to 1e-10."""
    sm = pytest.importorskip("statsmodels.api")
    system = pytest.importorskip("linearmodels.system")
    fits = {k: synthgmm.fit(panel, y=f"y_{k}", x=["x1"], labeled="labeled",
                            estimator="real-only", small_sample="hc0", influence=True)
            for k in "ab"}
    rows = panel[panel["labeled"]]
    exog = sm.add_constant(rows[["x1"]])
    for k, r in fits.items():
        ols = sm.OLS(rows[f"y_{k}"], exog).fit(cov_type="HC0")
        np.testing.assert_allclose(r.influence.T @ r.influence, ols.cov_params().to_numpy(),
                                   rtol=1e-10)
    sur = system.SUR({k: {"dependent": rows[f"y_{k}"], "exog": exog} for k in "ab"}).fit(
        method="ols", cov_type="robust")
    phi = np.hstack([fits["a"].influence, fits["b"].influence])
    np.testing.assert_allclose(phi.T @ phi, sur.cov.to_numpy(), rtol=1e-10, atol=1e-15)


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
