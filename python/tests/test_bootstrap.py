"""Bootstrap inference from Python: the same replicates for the same seed, intervals
that follow their definitions from the draws, and a bootstrap spread that agrees with
the analytic standard errors on a design where both are valid."""

import numpy as np
import pytest

import synthgmm
from conftest import SOURCES, X, load


def _fit(**kwargs):
    frame, _ = load("ols_T3000_n300_rho7")
    return synthgmm.fit(frame, y="y", x=X, labeled="labeled", intercept=False,
                        sources={"proxy": SOURCES["proxy"]}, **kwargs)


def test_no_bootstrap_unless_asked():
    assert _fit().bootstrap is None


def test_bootstrap_is_reproducible_and_its_intervals_follow_the_draws():
    res = _fit(bootstrap=199, seed=5)
    boot = res.bootstrap
    assert (boot.replicates, boot.n_failed, boot.seed, boot.interval) == (199, 0, 5, "symmetric")
    draws = boot.draws.to_numpy()
    assert draws.shape == (199, 3)
    np.testing.assert_array_equal(draws, _fit(bootstrap=199, seed=5).bootstrap.draws.to_numpy())
    assert not np.array_equal(draws, _fit(bootstrap=199, seed=6).bootstrap.draws.to_numpy())
    pct = boot.conf_int(0.1, "percentile").to_numpy()
    np.testing.assert_allclose(pct[:, 0], np.quantile(draws, 0.05, axis=0), rtol=1e-12)
    np.testing.assert_allclose(pct[:, 1], np.quantile(draws, 0.95, axis=0), rtol=1e-12)
    np.testing.assert_allclose(boot.bse.to_numpy(), draws.std(axis=0, ddof=1), rtol=1e-12)
    sym = boot.conf_int(0.05).to_numpy()
    centre = res.params.to_numpy()
    np.testing.assert_allclose(centre - sym[:, 0], sym[:, 1] - centre, rtol=1e-10)
    # n = 300 of T = 3000: the bootstrap and analytic standard errors agree to within
    # the bootstrap's own sampling error (relative sd of an sd from 199 draws is about
    # 5%; 25% allowed).
    np.testing.assert_allclose(boot.bse.to_numpy(), res.bse.to_numpy(), rtol=0.25)
    assert "Bootstrap: B = 199" in str(boot.summary())


@pytest.mark.parametrize("estimator", ["real-only", "ppi", "dsl"])
def test_every_estimator_can_be_bootstrapped(estimator):
    res = _fit(estimator=estimator, bootstrap=50, bootstrap_interval="percentile")
    assert res.bootstrap.interval == "percentile"
    ci = res.bootstrap.conf_int().to_numpy()
    assert (ci[:, 0] < ci[:, 1]).all()


def test_an_unknown_interval_is_a_configuration_error():
    with pytest.raises(synthgmm.InvalidConfigError):
        _fit(bootstrap=10, bootstrap_interval="bca")
