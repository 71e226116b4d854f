"""Writes iv_T2000_n400.csv and its expected results (run by hand, not in CI).

Linear IV with one exogenous covariate w, one endogenous regressor d, two excluded
instruments z1, z2 and heteroskedastic errors; 400 of 2,000 rows labeled at random;
a proxy outcome on every row. The expected values are linearmodels' IVGMM on the
labeled rows (two-step: 2SLS, then the robust uncentered weight; robust covariance
(X'ZWZ'X)^-1 X'ZWSWZ'X (X'ZWZ'X)^-1 / n with S at the final residuals; J with the
step-2 weight).

    python make_iv.py   # needs numpy, pandas, linearmodels
"""
import json

import numpy as np
import pandas as pd
from linearmodels.iv import IVGMM

rng = np.random.default_rng(20251126)
T, n = 2000, 400
w = rng.normal(size=T)
z1, z2 = rng.normal(size=T), rng.normal(size=T)
u = rng.normal(size=T)
d = 0.6 * z1 + 0.4 * z2 + 0.3 * w + u + 0.5 * rng.normal(size=T)
e = (u + rng.normal(size=T)) * (1.0 + 0.5 * np.abs(z1))
y = 1.0 + 0.5 * w + 2.0 * d + e
proxy = 0.2 + y + 0.7 * rng.normal(size=T)
labeled = np.zeros(T, dtype=int)
labeled[rng.choice(T, size=n, replace=False)] = 1

frame = pd.DataFrame(
    {"labeled": labeled, "y": np.where(labeled == 1, y, np.nan), "const": 1.0,
     "w": w, "d": d, "z1": z1, "z2": z2, "proxy_y": proxy}
)
frame.to_csv("iv_T2000_n400.csv", index=False, float_format="%.17g", na_rep="")

lab = frame[frame.labeled == 1]
res = IVGMM(
    lab.y, lab[["const", "w"]], lab[["d"]], lab[["z1", "z2"]], weight_type="robust"
).fit(cov_type="robust")
expected = {
    "names": ["const", "w", "d"],
    "theta": res.params.tolist(),
    "se": res.std_errors.tolist(),
    "cov": res.cov.values.tolist(),
    "j_stat": float(res.j_stat.stat),
    "j_df": int(res.j_stat.df),
    "source": "linearmodels %s IVGMM(weight_type='robust').fit(cov_type='robust')"
    % __import__("linearmodels").__version__,
}
with open("iv_T2000_n400.expected.json", "w") as f:
    json.dump(expected, f, indent=1)
print(res.summary)
