"""The GMM against the crate's independently computed reference values.

`tests/data/*.expected.json` come from a standalone numpy implementation of the paper's
two-step GMM (identity first step, unrestricted weights, covariance re-estimated at the
final estimate), cross-checked with statsmodels' generic GMM; see tests/data/README.md.
"""

import numpy as np
import pytest

import synthgmm
from conftest import SOURCES, X, load

CASES = [("gmm_synth", ["proxy", "synth"]), ("gmm_proxy", ["proxy"]), ("real_only", [])]
PAPER = dict(cross_weights="unrestricted", step_one="identity", covariance="reestimated")


@pytest.mark.parametrize(
    "name, model, rtol",
    [("ols_T3000_n300_rho7", "ols", 1e-8), ("ols_T1000_n100_rho0", "ols", 1e-8),
     ("logistic_T3000_n300_rho7", "logistic", 1e-6)],
)
@pytest.mark.parametrize("key, sources", CASES)
def test_paper_gmm_matches_reference(name, model, rtol, key, sources):
    frame, expected = load(name)
    exp = expected[key]
    res = synthgmm.fit(frame, y="y", x=X, labeled="labeled", intercept=False, model=model,
                       sources={s: SOURCES[s] for s in sources}, **PAPER)
    atol = 1e-3 * rtol  # coefficients near zero
    np.testing.assert_allclose(res.params.to_numpy(), exp["theta"], rtol=rtol, atol=atol)
    np.testing.assert_allclose(res.bse.to_numpy(), exp["se"], rtol=rtol)
    np.testing.assert_allclose(res.cov_params().to_numpy(), exp["cov_theta"], rtol=rtol,
                               atol=rtol * np.abs(exp["cov_theta"]).max())
    np.testing.assert_allclose(res.conf_int(0.05).to_numpy(), exp["ci_95"], rtol=rtol, atol=atol)
    np.testing.assert_allclose(res.conf_int(0.10).to_numpy(), exp["ci_90"], rtol=rtol, atol=atol)
    j = res.j_test
    assert j.df == exp["j_df"]
    if j.df > 0:
        np.testing.assert_allclose([j.statistic, j.pvalue], [exp["j_stat"], exp["j_pvalue"]],
                                   rtol=rtol)
    else:
        assert j.pvalue is None
    assert res.converged
    assert res.n_labeled == expected["n_labeled"] and res.nobs == expected["T"]


def test_array_form_equals_frame_form():
    frame, expected = load("ols_T3000_n300_rho7")
    lab = frame["labeled"].to_numpy() == 1
    by_name = synthgmm.fit(frame, y="y", x=X, labeled="labeled", intercept=False,
                           sources=SOURCES, **PAPER)
    arrays = synthgmm.fit(
        y=frame["y"].to_numpy(), x=frame[X].to_numpy(), labeled=lab, intercept=False,
        sources={n: (frame[y].to_numpy(), frame[x].to_numpy()) for n, (y, x) in SOURCES.items()},
        **PAPER,
    )
    assert isinstance(arrays.params, np.ndarray)
    np.testing.assert_array_equal(arrays.params, by_name.params.to_numpy())
    np.testing.assert_array_equal(arrays.cov_params(), by_name.cov_params().to_numpy())
    np.testing.assert_allclose(arrays.params, expected["gmm_synth"]["theta"], rtol=1e-8)
    assert arrays.names == ["x1", "x2", "x3"]


def test_default_gmm_is_at_least_as_precise_as_real_only():
    frame, _ = load("ols_T3000_n300_rho7")
    res = synthgmm.fit(frame, y="y", x=["x1", "x2"], labeled="labeled",
                       sources={"proxy": ("proxy_y", ["proxy_x1", "proxy_x2"])})
    assert res.names == ["Intercept", "x1", "x2"]
    assert (res.bse < res.real_only_bse).all()
    assert (res.effective_n > res.n_labeled).all()
    assert res.covariance == "selected-hc2-bm"
