"""Weighted logistic regression on the labeled rows of a reference data set, and
weighted PPI++ with ppi_py, for the observation-weights tests.

Run by hand (numpy, pandas, statsmodels 0.14):

    python tests/data/make_weights.py

Reads `logistic_T3000_n300_rho7.csv`, weights row i by 0.5 + ((37 i) mod 11) / 5 (the
same function as `tests/weights.rs`), and writes `weighted_logistic.expected.json`:
statsmodels GLM(Binomial) on the labeled rows with `var_weights` (the estimating
equations sum w x (y - mu)) and `cov_type='HC0'` (the sandwich with scores w x (y - mu)).
Also `weighted_ppi.expected.json`: ppi_python 0.2.3's `ppi_ols_ci` / `ppi_logistic_ci`
(90%, lambda tuned) with the proxy outcome, `w` the labeled rows' weights and
`w_unlabeled` the unlabeled rows', on both reference data sets.
"""
import json

import numpy as np
import pandas as pd
import statsmodels.api as sm

frame = pd.read_csv("tests/data/logistic_T3000_n300_rho7.csv")
w = 0.5 + ((37 * np.arange(len(frame))) % 11) / 5.0
lab = frame["labeled"].to_numpy() == 1
x = frame[["x0", "x1", "x2"]].to_numpy()[lab]
y = frame["y"].to_numpy()[lab]
fit = sm.GLM(y, x, family=sm.families.Binomial(), var_weights=w[lab]).fit(
    cov_type="HC0", tol=1e-14
)
out = {"theta": fit.params.tolist(), "cov": fit.cov_params().tolist()}
with open("tests/data/weighted_logistic.expected.json", "w") as f:
    json.dump(out, f, indent=1)
print(out)

from ppi_py import ppi_logistic_ci, ppi_ols_ci

ppi = {}
for name, ci_fn in [("ols_T3000_n300_rho7", ppi_ols_ci), ("logistic_T3000_n300_rho7", ppi_logistic_ci)]:
    frame = pd.read_csv(f"tests/data/{name}.csv")
    w = 0.5 + ((37 * np.arange(len(frame))) % 11) / 5.0
    lab = frame["labeled"].to_numpy() == 1
    x = frame[["x0", "x1", "x2"]].to_numpy()
    y = frame["y"].to_numpy()
    f = frame["proxy_y"].to_numpy()
    kwargs = {"optimizer_options": {"gtol": 1e-15}} if ci_fn is ppi_logistic_ci else {}
    lo, hi = ci_fn(x[lab], y[lab], f[lab], x[~lab], f[~lab], alpha=0.1, w=w[lab], w_unlabeled=w[~lab], **kwargs)
    ppi[name] = {"ci_90": np.column_stack([lo, hi]).tolist()}
with open("tests/data/weighted_ppi.expected.json", "w") as out:
    json.dump(ppi, out, indent=1)
print(ppi)
