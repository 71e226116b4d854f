"""Equalities with the peers, computed live on the same data: ppi_py 0.2.3 (PPI++ in its
asymptotic form, small_sample="hc0") and
statsmodels (OLS / WLS / logistic with HC0 or cluster covariances for M = 0), and
estimatr's CR2 (reference values made in R)."""

import json

import numpy as np
import pandas as pd
import pytest

import synthgmm
from conftest import DATA, X, load, split

ppi = pytest.importorskip("ppi_py")
sm = pytest.importorskip("statsmodels.api")


@pytest.mark.parametrize(
    "name, model, rtol",
    [("ols_T3000_n300_rho7", "ols", 1e-6), ("ols_T1000_n100_rho0", "ols", 1e-6),
     ("logistic_T3000_n300_rho7", "logistic", 1e-5)],
)
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_ppi_plus_plus_equals_ppi_py(name, model, rtol, alpha):
    frame, _ = load(name)
    xl, yl, fl, xu, fu = split(frame)
    if model == "ols":
        lo, hi = ppi.ppi_ols_ci(xl, yl, fl, xu, fu, alpha=alpha)
    else:
        lo, hi = ppi.ppi_logistic_ci(xl, yl, fl, xu, fu, alpha=alpha)
    res = synthgmm.fit(frame, y="y", x=X, labeled="labeled", intercept=False, model=model,
                       sources={"proxy": "proxy_y"}, estimator="ppi", small_sample="hc0")
    assert res.estimator == "PPI++ (proxy)"
    ci = res.conf_int(alpha).to_numpy()
    scale = np.abs(hi - lo).max()
    np.testing.assert_allclose(ci[:, 0], lo, rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(ci[:, 1], hi, rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(res.params.to_numpy(), (lo + hi) / 2, rtol=rtol, atol=rtol * scale)


def test_ppi_one_sided_equals_ppi_py():
    frame, _ = load("ols_T3000_n300_rho7")
    xl, yl, fl, xu, fu = split(frame)
    lo, hi = ppi.ppi_ols_ci(xl, yl, fl, xu, fu, alpha=0.1, alternative="larger")
    res = synthgmm.fit(frame, y="y", x=X, labeled="labeled", intercept=False,
                       sources={"proxy": "proxy_y"}, estimator="ppi", small_sample="hc0")
    ci = res.conf_int(0.1, alternative="larger").to_numpy()
    np.testing.assert_allclose(ci[:, 0], lo, rtol=1e-6)
    assert np.isinf(ci[:, 1]).all() and np.isinf(hi).all()


def test_ppi_poisson_equals_ppi_py():
    frame = pd.read_csv(DATA / "poisson_T3000_n300.csv")
    xcols = [c for c in frame.columns if c.startswith("x")]
    lab = frame["labeled"].to_numpy() == 1
    xs, y, f = frame[xcols].to_numpy(), frame["y"].to_numpy(), frame["proxy_y"].to_numpy()
    lo, hi = ppi.ppi_poisson_ci(xs[lab], y[lab], f[lab], xs[~lab], f[~lab], alpha=0.05)
    res = synthgmm.fit(frame, y="y", x=xcols, labeled="labeled", intercept=False,
                       model="poisson", sources={"proxy": "proxy_y"}, estimator="ppi",
                       small_sample="hc0")
    np.testing.assert_allclose(res.conf_int(0.05).to_numpy(), np.column_stack([lo, hi]),
                               rtol=1e-5)


def _labeled_frame(name):
    frame, _ = load(name)
    return frame, frame["labeled"].to_numpy() == 1


@pytest.mark.parametrize("estimator", ["gmm", "real-only"])
def test_no_source_ols_equals_statsmodels_hc0(estimator):
    frame, lab = _labeled_frame("ols_T1000_n100_rho0")
    ols = sm.OLS(frame["y"][lab], frame[X][lab]).fit(cov_type="HC0")
    res = synthgmm.fit(frame, y="y", x=X, labeled="labeled", intercept=False,
                       estimator=estimator, small_sample="hc0")
    np.testing.assert_allclose(res.params.to_numpy(), ols.params.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(res.cov_params().to_numpy(), ols.cov_params().to_numpy(),
                               rtol=1e-8, atol=1e-14)


@pytest.mark.parametrize("kind", ["hc1", "hc2", "hc3"])
@pytest.mark.parametrize("estimator", ["gmm", "real-only"])
def test_real_only_equals_statsmodels_with_t_quantiles(kind, estimator):
    # Without sources the default GMM reports the real-only estimator as real-only does.
    frame, lab = _labeled_frame("ols_T1000_n100_rho0")
    ols = sm.OLS(frame["y"][lab], frame[X][lab]).fit(cov_type=kind.upper(), use_t=True)
    res = synthgmm.fit(frame, y="y", x=X, labeled="labeled", intercept=False,
                       estimator=estimator, small_sample=kind)
    np.testing.assert_allclose(res.params.to_numpy(), ols.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(res.bse.to_numpy(), ols.bse.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(res.pvalues.to_numpy(), ols.pvalues.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(res.conf_int(0.05).to_numpy(), ols.conf_int(0.05).to_numpy(),
                               rtol=1e-10)


def test_no_source_logistic_equals_statsmodels_hc0():
    frame, lab = _labeled_frame("logistic_T3000_n300_rho7")
    logit = sm.Logit(frame["y"][lab], frame[X][lab]).fit(cov_type="HC0", disp=0, tol=1e-12)
    res = synthgmm.fit(frame, y="y", x=X, labeled="labeled", intercept=False,
                       model="logistic", small_sample="hc0")
    np.testing.assert_allclose(res.params.to_numpy(), logit.params.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(res.bse.to_numpy(), logit.bse.to_numpy(), rtol=1e-6)


def test_weighted_ols_equals_statsmodels_wls_hc0(simulated):
    df = simulated
    lab = df["is_labeled"].to_numpy()
    design = sm.add_constant(df[["x1", "x2"]][lab])
    wls = sm.WLS(df["y"][lab], design, weights=df["w"][lab]).fit(cov_type="HC0")
    res = synthgmm.fit(df, y="y", x=["x1", "x2"], labeled="is_labeled", weights="w",
                       small_sample="hc0")
    np.testing.assert_allclose(res.params.to_numpy(), wls.params.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(res.bse.to_numpy(), wls.bse.to_numpy(), rtol=1e-8)


def test_clustered_ols_equals_statsmodels_times_g_over_g_minus_1():
    frame = pd.read_csv(DATA / "cluster_T600.csv")
    lab = frame["labeled"].to_numpy() == 1
    xcols = [c for c in frame.columns if c.startswith("x") and c != "x0"]
    design = sm.add_constant(frame[xcols][lab])
    groups = pd.factorize(frame["cluster"][lab])[0]
    ols = sm.OLS(frame["y"][lab], design).fit(
        cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False})
    g = len(np.unique(groups))
    res = synthgmm.fit(frame, y="y", x=xcols, labeled="labeled", clusters="cluster",
                       estimator="real-only", small_sample="hc2")
    np.testing.assert_allclose(res.cov_params().to_numpy(),
                               ols.cov_params().to_numpy() * g / (g - 1), rtol=1e-8,
                               atol=1e-14)
    assert any("cluster" in note for note in res.notes)


def test_clustered_default_is_estimatrs_cr2():
    # R's estimatr lm_robust(se_type = "CR2"), tests/data/make_cr2.R.
    frame = pd.read_csv(DATA / "cluster_T600.csv")
    xcols = [c for c in frame.columns if c.startswith("x") and c != "x0"]
    expected = json.loads((DATA / "cr2.expected.json").read_text())["ols"]
    res = synthgmm.fit(frame, y="y", x=xcols, labeled="labeled", clusters="cluster",
                       estimator="real-only")
    np.testing.assert_allclose(res.cov_params().to_numpy(), np.array(expected["cov"]),
                               rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(res.coefficient_df, expected["df"], rtol=1e-8)
    assert any("CR2" in note for note in res.notes)


@pytest.mark.parametrize("estimator", ["ppi", "dsl", "naive"])
def test_baselines_default_to_hc2_with_t_quantiles(estimator):
    """Every baseline's default is the GMM's small-sample form: t(n - p) quantiles and a
    covariance at least as wide as the asymptotic one (leverage scales are >= 1)."""
    frame, _ = load("ols_T1000_n100_rho0")
    args = dict(y="y", x=X, labeled="labeled", intercept=False,
                sources={"proxy": "proxy_y"}, estimator=estimator)
    default = synthgmm.fit(frame, **args)
    asymptotic = synthgmm.fit(frame, **args, small_sample="hc0")
    assert asymptotic.df_resid is None and not asymptotic.use_t
    n = 100 if estimator != "naive" else 100 + len(frame)
    assert default.use_t and default.df_resid == n - 3
    # Bell-McCaffrey degrees of freedom of the labeled fit (naive pooling: n - p).
    assert (default.coefficient_df is None) == (estimator == "naive")
    np.testing.assert_allclose(default.params, asymptotic.params, rtol=1e-12)
    assert (default.bse.to_numpy() >= asymptotic.bse.to_numpy()).all()
    assert (default.bse.to_numpy() > asymptotic.bse.to_numpy()).any()
