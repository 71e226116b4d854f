"""Weak-instrument references for LinearIv's diagnostics.

- iv_T2000_n400.csv (labeled rows; made by make_iv.py): linearmodels' IV2SLS first-stage
  diagnostics (F statistic of the excluded instruments and partial R^2) with
  unadjusted and robust covariances; Anderson-Rubin statistics computed by hand with
  statsmodels (OLS of y - d b on [const, w, z1, z2], F test of z1 = z2 = 0, classical
  and HC0); the Anderson-Rubin 95% set found by root-finding on a grid (independent of
  the crate's quadratic).
- weak_iv_n60.csv (written here): 60 rows whose instruments barely move d, so the
  Anderson-Rubin set is unbounded.
- No exogenous column (d alone, instrumented by z1 and z2, e.g. after fixed effects
  absorbed the constant), on the strong data's labeled rows: the first-stage F of d
  on [z1, z2] and the Anderson-Rubin statistic, both by statsmodels' OLS and its F
  test (classical and HC0); the partial R^2 is 1 - RSS/d'd, the restricted model
  having no column.

    python tests/data/make_weak_iv.py   # writes weak_iv.expected.json (and weak_iv_n60.csv)
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
from linearmodels.iv import IV2SLS
from scipy import optimize, stats

HERE = Path(__file__).parent


def first_stage(lab, cov_type):
    res = IV2SLS(lab.y, lab[["const", "w"]], lab[["d"]], lab[["z1", "z2"]]).fit(
        cov_type=cov_type, debiased=False)
    diag = res.first_stage.diagnostics.loc["d"]
    return {"f_stat": float(diag["f.stat"]), "partial_r2": float(diag["partial.rsquared"])}


def ar(lab, b, robust):
    z = lab[["const", "w", "z1", "z2"]]
    fit = sm.OLS(lab.y - lab.d * b, z).fit(cov_type="HC0" if robust else "nonrobust")
    test = fit.wald_test("z1 = 0, z2 = 0", use_f=not robust, scalar=True)
    stat = float(test.statistic) / (2 if robust else 1)
    return {"statistic": stat, "p_value": float(test.pvalue)}


def ar_set(lab, alpha=0.05):
    n, k = len(lab), 4
    crit = stats.f.ppf(1 - alpha, 2, n - k)
    f = lambda b: ar(lab, b, False)["statistic"] - crit
    grid = np.linspace(-50, 50, 20001)
    values = np.array([f(b) for b in grid])
    change = np.nonzero(np.diff(np.sign(values)))[0]
    roots = [optimize.brentq(f, grid[i], grid[i + 1], xtol=1e-13) for i in change]
    return {"roots": roots, "inside_at_edges": [bool(values[0] <= 0), bool(values[-1] <= 0)]}


frame = pd.read_csv(HERE / "iv_T2000_n400.csv")
lab = frame[frame.labeled == 1].reset_index(drop=True)

rng = np.random.default_rng(20261203)
n = 60
w = rng.normal(size=n)
z1, z2 = rng.normal(size=n), rng.normal(size=n)
u = rng.normal(size=n)
d = 0.05 * z1 + 0.05 * z2 + 0.3 * w + u
y = 1.0 + 0.5 * w + 2.0 * d + u + rng.normal(size=n)
weak = pd.DataFrame({"labeled": 1, "y": y, "const": 1.0, "w": w, "d": d, "z1": z1, "z2": z2})
weak.to_csv(HERE / "weak_iv_n60.csv", index=False, float_format="%.17g")

def no_exogenous(lab, b):
    z = lab[["z1", "z2"]]
    stage = sm.OLS(lab.d, z).fit()
    f = stage.wald_test("z1 = 0, z2 = 0", use_f=True, scalar=True)
    robust = sm.OLS(lab.d, z).fit(cov_type="HC0").wald_test(
        "z1 = 0, z2 = 0", use_f=False, scalar=True)
    fit = sm.OLS(lab.y - lab.d * b, z).fit()
    ar_test = fit.wald_test("z1 = 0, z2 = 0", use_f=True, scalar=True)
    return {
        "first_stage_f": float(f.statistic),
        "first_stage_robust_f": float(robust.statistic) / 2,
        "partial_r2": float(1 - stage.ssr / float(lab.d @ lab.d)),
        "ar": {"statistic": float(ar_test.statistic), "p_value": float(ar_test.pvalue)},
    }


out = {
    "strong": {
        "first_stage_unadjusted": first_stage(lab, "unadjusted"),
        "first_stage_robust": first_stage(lab, "robust"),
        "ar": {str(b): {"homoskedastic": ar(lab, b, False), "robust": ar(lab, b, True)}
               for b in (2.0, 1.5)},
        "ar_set": ar_set(lab),
    },
    "no_exogenous": no_exogenous(lab, 2.0),
    "weak": {
        "first_stage_unadjusted": first_stage(weak, "unadjusted"),
        "ar_set": ar_set(weak),
    },
}
(HERE / "weak_iv.expected.json").write_text(json.dumps(out, indent=1) + "\n")
