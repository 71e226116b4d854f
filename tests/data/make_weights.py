"""Weighted logistic regression on the labeled rows of a reference data set, for the
observation-weights tests.

Run by hand (numpy, pandas, statsmodels 0.14):

    python tests/data/make_weights.py

Reads `logistic_T3000_n300_rho7.csv`, weights row i by 0.5 + ((37 i) mod 11) / 5 (the
same function as `tests/weights.rs`), and writes `weighted_logistic.expected.json`:
statsmodels GLM(Binomial) on the labeled rows with `var_weights` (the estimating
equations sum w x (y - mu)) and `cov_type='HC0'` (the sandwich with scores w x (y - mu)).
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
