"""Bell–McCaffrey degrees of freedom of real-only HC2 inference, computed with numpy,
statsmodels and scipy from the n × n matrices, independently of the crate's O(np²)
form.

For coefficient j with HC2 variance V_j = Σ_t a_tj² e_t² / (1 − h_t),
a_tj = [(X̄ᵀX̄)⁻¹ x̄_t]_j, H = X̄(X̄ᵀX̄)⁻¹X̄ᵀ, M = I − H and D = diag(a_tj² / (1 − h_t)):

    ν_j = (tr DM)² / tr(DMDM)            (Bell and McCaffrey 2002, eq. 9)

with X̄ = X for least squares and X̄ = diag(√(μ(1 − μ))) X for logistic regression at
the fitted μ (the working model whose errors are homoskedastic in X̄'s scale). The
intervals are θ̂_j ± t(ν_j) se_j with statsmodels' HC2 standard errors (for logistic,
the HC2 sandwich written out with numpy, since statsmodels' GLM has no HC2).

Samples: the labeled rows of `ols_T1000_n100_rho0.csv` (n = 100) and its first 30
(n = 30); the first 60 labeled rows of `logistic_T3000_n300_rho7.csv`.

Run by hand: python make_bell_mccaffrey.py   (numpy, pandas, scipy, statsmodels 0.14)
"""

import json
import os

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

here = os.path.dirname(os.path.abspath(__file__))
X_COLUMNS = ["x0", "x1", "x2"]


def bell_mccaffrey(xbar):
    """ν_j for every coefficient, from the n × n matrices."""
    n, p = xbar.shape
    inv = np.linalg.inv(xbar.T @ xbar)
    hat = xbar @ inv @ xbar.T
    h = np.diag(hat)
    m = np.eye(n) - hat
    out = []
    for j in range(p):
        a = xbar @ inv[:, j]
        dm = np.diag(a**2 / (1.0 - h)) @ m
        out.append(float(np.trace(dm) ** 2 / np.trace(dm @ dm)))
    return out


def report(theta, se, nu):
    q = stats.t.ppf(0.975, nu)
    t = theta / se
    return {
        "params": list(map(float, theta)),
        "bse": list(map(float, se)),
        "coefficient_df": nu,
        "pvalues": list(map(float, 2 * stats.t.sf(np.abs(t), nu))),
        "ci_95": np.column_stack([theta - q * se, theta + q * se]).tolist(),
    }


def least_squares(rows):
    x, y = rows[X_COLUMNS].to_numpy(), rows["y"].to_numpy()
    res = sm.OLS(y, x).fit(cov_type="HC2")
    return report(res.params, res.bse, bell_mccaffrey(x))


def logistic(rows):
    x, y = rows[X_COLUMNS].to_numpy(), rows["y"].to_numpy()
    theta = sm.Logit(y, x).fit(disp=0, tol=1e-12, maxiter=200).params
    mu = 1.0 / (1.0 + np.exp(-x @ theta))
    xbar = x * np.sqrt(mu * (1 - mu))[:, None]
    inv = np.linalg.inv(xbar.T @ xbar)
    h = np.einsum("ij,jk,ik->i", xbar, inv, xbar)
    score = x * ((y - mu) / np.sqrt(1.0 - h))[:, None]
    cov = inv @ (score.T @ score) @ inv
    return report(theta, np.sqrt(np.diag(cov)), bell_mccaffrey(xbar))


ols = pd.read_csv(os.path.join(here, "ols_T1000_n100_rho0.csv"))
ols = ols[ols["labeled"] == 1]
logit = pd.read_csv(os.path.join(here, "logistic_T3000_n300_rho7.csv"))
logit = logit[logit["labeled"] == 1].iloc[:60]
out = {
    "statsmodels": sm.__version__,
    "ols_n100": {"labeled_rows": [int(i) for i in ols.index], **least_squares(ols)},
    "ols_n30": {"labeled_rows": [int(i) for i in ols.index[:30]], **least_squares(ols.iloc[:30])},
    "logistic_n60": {"labeled_rows": [int(i) for i in logit.index], **logistic(logit)},
}
with open(os.path.join(here, "bell_mccaffrey.expected.json"), "w") as f:
    json.dump(out, f, indent=1)
