"""Planning from Python: predictions against statsmodels and against each other."""

import numpy as np
import pytest

import synthgmm
from conftest import SOURCES, X, load

sm = pytest.importorskip("statsmodels.api")


def pilot():
    frame, _ = load("ols_T3000_n300_rho7")
    return frame, synthgmm.plan(frame, y="y", x=X, labeled="labeled", intercept=False,
                                sources=SOURCES)


def test_real_only_prediction_at_the_pilot_is_the_hc0_standard_error():
    frame, plan = pilot()
    lab = frame["labeled"].to_numpy() == 1
    ols = sm.OLS(frame["y"][lab], frame[X][lab]).fit(cov_type="HC0")
    n, t = plan.pilot
    assert (n, t) == (300, 3000)
    np.testing.assert_allclose(plan.se(n, t, "real-only").to_numpy(), ols.bse.to_numpy(),
                               rtol=1e-8)
    # four times the labels halve it
    np.testing.assert_allclose(plan.se(4 * n, t, "real-only").to_numpy(),
                               ols.bse.to_numpy() / 2, rtol=1e-8)


def test_predictions_order_and_inversions_agree():
    _, plan = pilot()
    n, t = 600, 20_000
    gmm, ppi, real = (plan.se(n, t, e) for e in ("gmm", "ppi:proxy", "real-only"))
    assert (gmm <= ppi * (1 + 1e-9)).all() and (ppi <= real).all()
    eff = plan.effective_labels(n, t)
    np.testing.assert_allclose(eff.to_numpy(), (real / gmm).to_numpy() ** 2 * n, rtol=1e-9)
    # the fewest labels for a half-width: that many reach it, one fewer does not
    target = 1.96 * gmm["x1"]
    need = plan.labels_for("x1", target, rows=t, alpha=0.05)
    z = 1.959963984540054
    assert z * plan.se(need, t)["x1"] <= target < z * plan.se(need - 1, t)["x1"]
    design = plan.cheapest("x1", target, label_cost=1.0, row_cost=0.01)
    assert design["cost"] == pytest.approx(design["labeled"] + 0.01 * design["rows"])
    assert design["half_width"] == pytest.approx(target)
    budget = plan.best_for_budget("x1", design["cost"], label_cost=1.0, row_cost=0.01)
    assert budget["half_width"] == pytest.approx(target, rel=1e-9)
    curve = plan.curve("x1", [100, 200, 400], rows=t)
    assert set(curve["estimator"]) == {"real-only", "ppi:proxy", "ppi:synth", "gmm"}
    assert curve[curve.estimator == "gmm"]["half_width"].is_monotonic_decreasing


def test_planning_errors():
    frame, plan = pilot()
    with pytest.raises(ValueError, match="no source `nope`"):
        plan.se(100, 1000, "ppi:nope")
    with pytest.raises(ValueError, match="no coefficient named"):
        plan.labels_for("nope", 0.1, rows=1000)
    with pytest.raises(synthgmm.InvalidConfigError):
        plan.se(2000, 1000)  # more labels than rows
    with pytest.raises(synthgmm.InvalidConfigError, match="planning needs"):
        synthgmm.plan(frame, y="y", x=X, labeled="labeled", intercept=False, sources={})


def test_cheapest_ppi_design_equals_ppi_py_power_analysis_for_a_mean():
    """ppi_py's `ppi_mean_power` (the cheapest (n, N) whose PPI++ variance equals the
    classical variance of n0 labels) against `Plan.cheapest` for PPI++ with costs
    c_label = cost_Y and c_row = cost_Yhat (ppi_py pays cost_Yhat on labeled rows too,
    as every row here has an output).

    Comparable where the two compute the same variance: one parameter (a mean), the
    proxy's variance over all rows equal to its labeled-rows variance (ppi_py estimates
    it on the labeled pilot only; here the unlabeled outputs repeat the labeled ones),
    and a pilot large enough (n = 5,000) that the planner's correction of the pilot's
    in-sample optimism, of relative order 1/n, is below ppi_py's rounding to whole rows.
    """
    ppi = pytest.importorskip("ppi_py")
    rng = np.random.default_rng(5)
    n, copies = 5000, 4
    y = rng.normal(size=n)
    f = 0.8 * y + 0.6 * rng.normal(size=n)
    t = n * copies
    labeled = np.arange(t) < n
    plan = synthgmm.plan(y=np.concatenate([y, np.full(t - n, np.nan)]), labeled=labeled,
                         sources={"llm": np.tile(f, copies)}, model="mean")
    for n0, cost_yhat in ((800, 0.02), (3000, 0.1)):
        theirs = ppi.ppi_mean_power(y, f, cost_Y=1.0, cost_Yhat=cost_yhat, effective_n=n0)
        half_width = 1.959963984540054 * plan.se(n0, t, "real-only")[0]
        ours = plan.cheapest(0, half_width, label_cost=1.0, row_cost=cost_yhat, estimator="ppi")
        assert abs(ours["labeled"] - theirs["n"]) <= 1 + 1e-3 * theirs["n"], (ours, theirs)
        unlabeled = ours["rows"] - ours["labeled"]
        assert abs(unlabeled - theirs["N"]) <= 1 + 1e-3 * theirs["N"], (ours, theirs)
