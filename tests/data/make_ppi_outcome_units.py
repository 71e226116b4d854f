"""PPI++ with the proxy's outcome in other units, with ppi_py, for the test that our
PPI++ follows ppi_py's definition there too.

Run by hand (numpy, pandas, ppi_python 0.2.3):

    python tests/data/make_ppi_outcome_units.py

Reads `ols_T3000_n300_rho7.csv`, multiplies the proxy outcome by c in {0.1, 1, 10},
and writes `ppi_outcome_units.expected.json`: for each c, ppi_py's
`ppi_ols_pointestimate` (lambda tuned) and `ppi_ols_ci` (95%) with the real covariates.
PPI++ reads the proxy as a prediction on the label's scale (lambda is clipped to
[0, 1]), so its estimate moves with c: by definition, not by accident.
"""
import json

import numpy as np
import pandas as pd
from ppi_py import ppi_ols_ci, ppi_ols_pointestimate

frame = pd.read_csv("tests/data/ols_T3000_n300_rho7.csv")
lab = frame["labeled"].to_numpy() == 1
x = frame[["x0", "x1", "x2"]].to_numpy()
y = frame["y"].to_numpy()
out = {}
for c in [0.1, 1.0, 10.0]:
    f = c * frame["proxy_y"].to_numpy()
    theta = ppi_ols_pointestimate(x[lab], y[lab], f[lab], x[~lab], f[~lab])
    lo, hi = ppi_ols_ci(x[lab], y[lab], f[lab], x[~lab], f[~lab], alpha=0.05)
    out[repr(c)] = {"theta": np.asarray(theta).tolist(), "ci_95": np.column_stack([lo, hi]).tolist()}
with open("tests/data/ppi_outcome_units.expected.json", "w") as handle:
    json.dump(out, handle, indent=1)
print(out)
