"""The joint covariance of two least-squares fits on the same rows: linearmodels' SUR.

Reads the labeled rows of `ols_T1000_n100_rho0.csv` (n = 100) and fits two equations on
the same covariates x0, x1, x2: outcome `a` is `y`, outcome `b` is `proxy_y` (a second
outcome observed on the same rows). `SUR(...).fit(method="ols", cov_type="robust")`
estimates each equation by OLS and gives their joint heteroskedasticity-robust
covariance, (X'X)^-1 X' diag(e_a e_b) X (X'X)^-1 in each block (no degrees-of-freedom
correction), which the script checks against that closed form before writing
`outcome_joint.expected.json`: the six coefficients (a's, then b's) and their 6 x 6
covariance.

Run by hand: python make_outcome_joint.py   (numpy, pandas, linearmodels)
"""

import json
import os

import linearmodels
import numpy as np
import pandas as pd
from linearmodels.system import SUR

here = os.path.dirname(os.path.abspath(__file__))
frame = pd.read_csv(os.path.join(here, "ols_T1000_n100_rho0.csv"))
rows = frame[frame["labeled"] == 1]
X = rows[["x0", "x1", "x2"]]
equations = {
    "a": {"dependent": rows["y"], "exog": X},
    "b": {"dependent": rows["proxy_y"], "exog": X},
}
res = SUR(equations).fit(method="ols", cov_type="robust")
params = res.params.to_numpy()
cov = res.cov.to_numpy()

# The closed form, from the equation-by-equation residuals.
x = X.to_numpy()
bread = np.linalg.inv(x.T @ x)
resid = [rows[c].to_numpy() - x @ bread @ x.T @ rows[c].to_numpy() for c in ("y", "proxy_y")]
blocks = [[bread @ x.T @ np.diag(ea * eb) @ x @ bread for eb in resid] for ea in resid]
assert np.allclose(np.block(blocks), cov, rtol=1e-10, atol=0), "SUR's robust covariance"

out = {
    "linearmodels": linearmodels.__version__,
    "n": int(len(rows)),
    "params": params.tolist(),
    "cov": cov.tolist(),
}
with open(os.path.join(here, "outcome_joint.expected.json"), "w") as f:
    json.dump(out, f, indent=1)
