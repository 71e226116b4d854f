"""The baselines' small-sample covariances (HC1–HC3 with t quantiles), computed with
numpy and statsmodels, independently of the crate.

Data: the reference sets with only their first k labeled rows kept (k = 40 for least
squares, 60 for logistic; every unlabeled row kept), the proxy outcome with the real
covariates as the source.

- PPI++ (least squares and logistic): λ̂ and θ̂ as ppi_py 0.2.3 computes them (its
  point estimate, `_*_get_stats` and `_calc_lam_glm`); the covariance
  H⁻¹[(n/N) Cov(λ∇ℓ^f_unlabeled) + c Cov(s∇ℓ − λ∇ℓ^f)]H⁻¹/n with s_t = (1 − h_t)^(−k/2),
  h_t the labeled fit's leverage at θ̂ (x_tᵀ(XᵀX)⁻¹x_t; for logistic
  w_t x_tᵀ(XᵀWX)⁻¹x_t with w = μ(1 − μ)), c = n/(n − p) for HC1; intervals
  θ̂ ± t(n − p) se.
- DSL (least squares, π = n/T): the doubly robust moments solved in closed form, the
  sandwich with the labeled rows' real moments scaled by s_t.
- The default (HC2 with Bell–McCaffrey degrees of freedom): the HC2 covariance with
  t(ν_j) intervals, ν_j = (tr DM)²/tr(DMDM) from the n × n matrices of the labeled
  fit's design (X̄ = X, or diag(√(μ(1 − μ)))X at the estimator's θ̂ for logistic),
  D = diag(a_tj²/(1 − h_t)), a_tj = [(X̄ᵀX̄)⁻¹x̄_t]_j, M = I − X̄(X̄ᵀX̄)⁻¹X̄ᵀ.
- Naive pooling (least squares): statsmodels' `OLS(...).fit(cov_type='HC2', use_t=True)`
  on the labeled rows stacked with every proxy row.

Run by hand: python make_baselines_hc.py   (numpy, pandas, scipy, statsmodels 0.14,
ppi_python 0.2.3)
"""

import json
import os

import numpy as np
import pandas as pd
import statsmodels.api as sm
from ppi_py import ppi
from scipy import stats

here = os.path.dirname(os.path.abspath(__file__))
X = ["x0", "x1", "x2"]
POWER = {"HC1": 0.0, "HC2": 1.0, "HC3": 2.0}


def restricted(name, k):
    frame = pd.read_csv(os.path.join(here, f"{name}.csv"))
    labeled = np.flatnonzero(frame["labeled"].to_numpy() == 1)
    keep = np.sort(np.concatenate([labeled[:k], np.flatnonzero(frame["labeled"] == 0)]))
    return frame.iloc[keep].reset_index(drop=True)


def split(frame):
    lab = frame["labeled"].to_numpy() == 1
    x, y, f = frame[X].to_numpy(), frame["y"].to_numpy(), frame["proxy_y"].to_numpy()
    return x[lab], y[lab], f[lab], x[~lab], f[~lab]


def scales(h, power):
    return np.maximum(1.0 - h, 0.1) ** (-power / 2.0)


def interval(theta, cov, df, alpha=0.05):
    se = np.sqrt(np.diag(cov))
    q = stats.t.ppf(1 - alpha / 2, df)
    return se, np.column_stack([theta - q * se, theta + q * se])


def bell_mccaffrey(xbar):
    """ν_j for every coefficient, from the n × n matrices."""
    n, p = xbar.shape
    inv = np.linalg.inv(xbar.T @ xbar)
    hat = xbar @ inv @ xbar.T
    h, m = np.diag(hat), np.eye(n) - hat
    out = []
    for j in range(p):
        dm = np.diag((xbar @ inv[:, j]) ** 2 / (1.0 - h)) @ m
        out.append(float(np.trace(dm) ** 2 / np.trace(dm @ dm)))
    return np.array(out)


def with_bell_mccaffrey(out, theta, xbar):
    """The HC2 entry's standard errors with t(ν_j) intervals."""
    nu = bell_mccaffrey(xbar)
    se = np.array(out["HC2"]["se"])
    q = stats.t.ppf(0.975, nu)
    out["HC2-BM"] = {"se": se.tolist(), "coefficient_df": nu.tolist(),
                     "ci_95": np.column_stack([theta - q * se, theta + q * se]).tolist()}
    return out


def ppi_hc(model, xl, yl, fl, xu, fu):
    if model == "ols":
        point, get_stats = ppi.ppi_ols_pointestimate, ppi._ols_get_stats
    else:
        point, get_stats = ppi.ppi_logistic_pointestimate, ppi._logistic_get_stats
    pilot = point(xl, yl, fl, xu, fu)
    g, gh, ghu, inv_h = get_stats(pilot, xl, yl, fl, xu, fu, use_unlabeled=True)
    lam = ppi._calc_lam_glm(g, gh, ghu, inv_h, clip=True)
    theta = point(xl, yl, fl, xu, fu, lam=lam)
    g, gh, ghu, inv_h = get_stats(theta, xl, yl, fl, xu, fu, use_unlabeled=lam != 0)
    if model == "ols":
        w = np.ones(len(yl))
    else:
        mu = 1.0 / (1.0 + np.exp(-xl @ theta))
        w = mu * (1.0 - mu)
    xtwx_inv = np.linalg.inv(xl.T @ (xl * w[:, None]))
    h = w * np.einsum("ij,jk,ik->i", xl, xtwx_inv, xl)
    n, p, big_n = len(yl), xl.shape[1], len(fu)
    out = {"lambda": float(lam), "theta": theta.tolist()}
    for name, power in POWER.items():
        c = n / (n - p) if name == "HC1" else 1.0
        var = c * np.cov((g * scales(h, power)[:, None] - lam * gh).T)
        var_unl = np.cov(lam * ghu.T)
        cov = inv_h @ (n / big_n * var_unl + var) @ inv_h / n
        se, ci = interval(theta, cov, n - p)
        out[name] = {"se": se.tolist(), "ci_95": ci.tolist()}
    return with_bell_mccaffrey(out, theta, xl * np.sqrt(w)[:, None])


def dsl_hc(xl, yl, fl, xu, fu):
    x_all = np.vstack([xl, xu])
    f_all = np.concatenate([fl, fu])
    n, p, t = len(yl), xl.shape[1], len(f_all)
    inv_pi = t / n
    # Σ_all x̂(ŷ − x̂θ) + (T/n) Σ_lab [x(y − xθ) − x̂(ŷ − x̂θ)] = 0, x̂ = x here.
    a = x_all.T @ x_all
    b = x_all.T @ f_all + inv_pi * (xl.T @ yl - xl.T @ fl)
    theta = np.linalg.solve(a, b)
    jac = -a
    h = np.einsum("ij,jk,ik->i", xl, np.linalg.inv(xl.T @ xl), xl)
    out = {"theta": theta.tolist()}
    for name, power in [("HC0", 0.0)] + list(POWER.items()):
        m = x_all * (f_all - x_all @ theta)[:, None]
        real = xl * (yl - xl @ theta)[:, None] * scales(h, power)[:, None]
        m[:n] += inv_pi * (real - xl * (fl - xl @ theta)[:, None])
        c = n / (n - p) if name == "HC1" else 1.0
        j_inv = np.linalg.inv(jac)
        cov = c * j_inv @ (m.T @ m) @ j_inv.T
        if name == "HC0":
            se = np.sqrt(np.diag(cov))
            ci = np.column_stack([theta - 1.959963984540054 * se, theta + 1.959963984540054 * se])
        else:
            se, ci = interval(theta, cov, n - p)
        out[name] = {"se": se.tolist(), "ci_95": ci.tolist()}
    return with_bell_mccaffrey(out, theta, xl)


def naive_hc2(xl, yl, fl, xu, fu):
    x = np.vstack([xl, xl, xu])
    y = np.concatenate([yl, fl, fu])
    res = sm.OLS(y, x).fit(cov_type="HC2", use_t=True)
    return {"theta": res.params.tolist(), "se": res.bse.tolist(),
            "ci_95": res.conf_int(0.05).tolist(), "df_resid": float(res.df_resid)}


ols = split(restricted("ols_T3000_n300_rho7", 40))
logistic = split(restricted("logistic_T3000_n300_rho7", 60))
out = {
    "labeled_kept": {"ols_T3000_n300_rho7": 40, "logistic_T3000_n300_rho7": 60},
    "ppi_ols": ppi_hc("ols", *ols),
    "ppi_logistic": ppi_hc("logistic", *logistic),
    "dsl_ols": dsl_hc(*ols),
    "naive_ols": naive_hc2(*ols),
}
with open(os.path.join(here, "baselines_hc.expected.json"), "w") as f:
    json.dump(out, f, indent=1)
