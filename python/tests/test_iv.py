"""Linear instrumental variables from Python: the GMM without sources against
linearmodels' IVGMM (reference values made by tests/data/make_iv.py, and live), the
weak-instrument diagnostics against linearmodels' first-stage statistics and a
hand-computed Anderson-Rubin set (tests/data/make_weak_iv.py), and the errors of a
model given the wrong arguments."""

import json

import numpy as np
import pandas as pd
import pytest

import synthgmm
from conftest import DATA


@pytest.fixture
def iv_frame():
    frame = pd.read_csv(DATA / "iv_T2000_n400.csv")
    expected = json.loads((DATA / "iv_T2000_n400.expected.json").read_text())
    return frame, expected


def _fit(frame, **kw):
    args = dict(y="y", x=["w", "d"], labeled="labeled", model="iv", instruments=["z1", "z2"],
                covariance="sandwich")
    args.update(kw)
    return synthgmm.fit(frame, **args)


def test_iv_gmm_without_sources_matches_linearmodels(iv_frame):
    frame, exp = iv_frame
    res = _fit(frame, exogenous=["Intercept", "w"])
    assert res.names == ["Intercept", "w", "d"]
    np.testing.assert_allclose(res.params.to_numpy(), exp["theta"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(res.bse.to_numpy(), exp["se"], rtol=1e-8)
    stat, df, _ = res.j_test
    assert df == exp["j_df"]
    np.testing.assert_allclose(stat, exp["j_stat"], rtol=1e-8)


def test_the_intercept_is_exogenous_by_default(iv_frame):
    frame, _ = iv_frame
    # Without the intercept among the instruments the model has one moment fewer.
    assert _fit(frame, exogenous=["w"]).j_test[1] == 0
    assert _fit(frame, exogenous=["Intercept", "w"]).j_test[1] == 1
    # exogenous=None: the intercept alone; w is then endogenous (three instruments for
    # three coefficients), with a first stage of its own and no single-coefficient set.
    implicit = _fit(frame)
    assert implicit.j_test[1] == 0
    weak = implicit.weak_instruments
    assert [s["endogenous"] for s in weak["first_stage"]] == ["w", "d"]
    assert weak["anderson_rubin_set"] is None


def test_iv_matches_linearmodels_live(iv_frame):
    iv = pytest.importorskip("linearmodels.iv")
    frame, _ = iv_frame
    lab = frame[frame["labeled"] == 1]
    ref = iv.IVGMM(lab.y, lab[["const", "w"]], lab[["d"]], lab[["z1", "z2"]],
                   weight_type="robust").fit(cov_type="robust")
    res = _fit(frame, x=["const", "w", "d"], intercept=False, exogenous=["const", "w"])
    np.testing.assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(res.bse.to_numpy(), ref.std_errors.to_numpy(), rtol=1e-8)


def test_the_formula_and_array_forms_agree(iv_frame):
    frame, _ = iv_frame
    by_name = _fit(frame, exogenous=["Intercept", "w"], sources={"proxy": "proxy_y"})
    formula = synthgmm.fit("y ~ w + d", data=frame, labeled="labeled", model="iv",
                           instruments=["z1", "z2"], exogenous=["Intercept", "w"],
                           covariance="sandwich", sources={"proxy": "proxy_y"})
    x = np.column_stack([np.ones(len(frame)), frame["w"], frame["d"]])
    arrays = synthgmm.fit(y=frame["y"].to_numpy(), x=x, intercept=False,
                          labeled=frame["labeled"].to_numpy() == 1, model="iv",
                          instruments={"z1": frame["z1"].to_numpy(), "z2": frame["z2"].to_numpy()},
                          exogenous=["x1", "x2"], covariance="sandwich",
                          sources={"proxy": frame["proxy_y"].to_numpy()})
    for other in (formula, arrays):
        np.testing.assert_allclose(np.asarray(other.params), np.asarray(by_name.params), rtol=1e-12)
        np.testing.assert_allclose(np.asarray(other.bse), np.asarray(by_name.bse), rtol=1e-12)
    # The proxy's rows shrink the slope's standard error below the labeled rows' alone.
    alone = _fit(frame, exogenous=["Intercept", "w"])
    assert by_name.bse["d"] < alone.bse["d"]


def test_weak_instrument_diagnostics_match_linearmodels_and_the_hand_computation(iv_frame):
    frame, _ = iv_frame
    exp = json.loads((DATA / "weak_iv.expected.json").read_text())["strong"]
    res = _fit(frame, exogenous=["Intercept", "w"])
    weak = res.weak_instruments
    (stage,) = weak["first_stage"]
    n, kz = 400.0, 4.0
    # linearmodels' f.stat is the Wald statistic n·π'V⁻¹π/q without the df factor.
    want = exp["first_stage_unadjusted"]["f_stat"] * (n - kz) / n
    assert stage["endogenous"] == "d"
    np.testing.assert_allclose(stage["f"], want, rtol=1e-9)
    assert stage["f_df"] == (2.0, 396.0)
    np.testing.assert_allclose(stage["robust_f"], exp["first_stage_robust"]["f_stat"] / 2.0,
                               rtol=1e-9)
    np.testing.assert_allclose(stage["partial_r2"], exp["first_stage_unadjusted"]["partial_r2"],
                               rtol=1e-9)
    ar = weak["anderson_rubin_set"]
    assert weak["alpha"] == 0.05 and ar["kind"] == "interval"
    np.testing.assert_allclose(ar["bounds"], exp["ar_set"]["roots"], rtol=1e-8)
    text = str(res.summary())
    assert "Weak instruments (labeled rows)" in text and "Anderson–Rubin 95% set" in text


def test_weak_instruments_are_flagged():
    frame = pd.read_csv(DATA / "weak_iv_n60.csv")
    res = synthgmm.fit(frame, y="y", x=["w", "d"], labeled="labeled", model="iv",
                       instruments=["z1", "z2"], exogenous=["Intercept", "w"])
    (stage,) = res.weak_instruments["first_stage"]
    assert stage["f"] < 10.0
    assert res.weak_instruments["anderson_rubin_set"]["kind"] in ("everything", "outside")
    assert "below 10: weak" in str(res.summary())


def test_other_models_have_no_diagnostics(iv_frame):
    frame, _ = iv_frame
    res = synthgmm.fit(frame, y="y", x=["w", "d"], labeled="labeled")
    assert res.weak_instruments is None


@pytest.mark.parametrize("kw, message", [
    (dict(instruments=None), "needs the excluded instruments"),
    (dict(exogenous=["v"]), "`v` is not a covariate"),
    (dict(model="ols"), "apply to model=\"iv\""),
    (dict(instruments=["nope"]), "no column `nope`"),
    (dict(instruments=[]), "at least one"),
])
def test_wrong_arguments_raise_typed_errors(iv_frame, kw, message):
    frame, _ = iv_frame
    with pytest.raises(synthgmm.InvalidConfigError, match=message):
        _fit(frame, **kw)


def test_instrument_names_need_a_frame(iv_frame):
    frame, _ = iv_frame
    x = frame[["w", "d"]].to_numpy()
    with pytest.raises(synthgmm.InvalidConfigError, match="no data frame"):
        synthgmm.fit(y=frame["y"].to_numpy(), x=x, labeled=frame["labeled"].to_numpy() == 1,
                     model="iv", instruments=["z1"])


def test_diagnostics_that_do_not_apply_leave_the_fit_standing(iv_frame):
    frame, _ = iv_frame
    # Observation weights: the fit runs, the diagnostics say why they are missing.
    weighted = _fit(frame.assign(wt=1.0 + frame["z2"].abs()), exogenous=["Intercept", "w"],
                    weights="wt")
    assert weighted.weak_instruments is None
    assert any("weak-instrument diagnostics were not computed" in n for n in weighted.notes)
    assert "Weak instruments: not computed" in str(weighted.summary())
    # Every covariate exogenous: over-identified least squares, no first stage.
    exogenous = _fit(frame, exogenous=["Intercept", "w", "d"])
    assert exogenous.weak_instruments is None and exogenous.j_test[1] == 2
