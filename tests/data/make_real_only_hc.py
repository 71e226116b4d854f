"""Real-only least squares with statsmodels' heteroskedasticity-robust covariances.

Reads the labeled rows of `ols_T1000_n100_rho0.csv` (n = 100) and of its first 30
labeled rows (n = 30), fits `sm.OLS(y, X).fit(cov_type=HCk, use_t=True)` for k = 0..3,
and writes `real_only_hc.expected.json`: per sample and covariance, the coefficients,
standard errors, t p-values and 95% intervals (t with n − p degrees of freedom).

Run by hand: python make_real_only_hc.py   (numpy, pandas, statsmodels 0.15.0)
"""

import json
import os

import numpy as np
import pandas as pd
import statsmodels.api as sm

here = os.path.dirname(os.path.abspath(__file__))
frame = pd.read_csv(os.path.join(here, "ols_T1000_n100_rho0.csv"))
labeled = frame[frame["labeled"] == 1]
out = {"statsmodels": sm.__version__}
for name, rows in (("n100", labeled), ("n30", labeled.iloc[:30])):
    X = rows[["x0", "x1", "x2"]].to_numpy()
    y = rows["y"].to_numpy()
    out[name] = {"labeled_rows": [int(i) for i in rows.index]}
    for cov in ("HC0", "HC1", "HC2", "HC3"):
        res = sm.OLS(y, X).fit(cov_type=cov, use_t=True)
        out[name][cov] = {
            "params": res.params.tolist(),
            "bse": res.bse.tolist(),
            "pvalues": res.pvalues.tolist(),
            "ci_95": res.conf_int(0.05).tolist(),
            "df_resid": float(res.df_resid),
        }
with open(os.path.join(here, "real_only_hc.expected.json"), "w") as f:
    json.dump(out, f, indent=1)
