"""Expected values of the selected cross weights with one source, written out by hand.

For least squares with one proxy source sharing the real covariates, every candidate
correction of coefficient j is computed here from its definition (numpy only, nothing
from the crate):

* influence functions on the labeled rows at each block's own labeled fit, scaled by
  HC2's 1/sqrt(1 - h_t): phi_r = (X'X/n)^-1 x_t r_t / sqrt(1 - h_t) with r_t the real
  labeled fit's residuals, phi_p likewise with the proxy's labeled fit;
* A = E_lab[phi_r phi_r'], C = E_lab[phi_r phi_p'], S_lab = E_lab[phi_p phi_p'];
* the unlabeled rows' S_unlab = (1/T) sum_unlab phi phi' with phi = (X'X/T)^-1 x_t e_t
  at the proxy's all-rows fit; Q = (2 - f) S_lab - S_unlab, f = n/T;
* candidates for coordinate j: real-only (no correction), per-source (one lambda
  shared by all coordinates, the regression pooled over coordinates each divided by
  A_jj), per-coordinate (phi_r,j on phi_p,j) and unrestricted (phi_r,j on all of phi_p);
* theta_j = theta_real,j - lambda' (eta_lab - eta_all)_I;
* variance: n/(n - p) * s~2 / n + (2 lambda'c - lambda'Q lambda)/T, with s~2 the
  leave-one-out (PRESS) residual second moment of coordinate j's own regression,
  mean((e_t / (1 - h_t))^2), h_t = phi_I,t' (n S_lab,II)^-1 phi_I,t (at most 0.9).

Run: python tests/data/make_selected_one_source.py  (numpy, pandas)
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def ols(x, y):
    return np.linalg.solve(x.T @ x, x.T @ y)


def influence(x, r):
    """(X'X/n)^-1 x_t r_t / sqrt(1 - h_t) on the rows of a labeled fit."""
    n = len(x)
    xtx_inv = np.linalg.inv(x.T @ x)
    h = np.einsum("ij,jk,ik->i", x, xtx_inv, x)
    return (x * (r / np.sqrt(1.0 - h))[:, None]) @ (xtx_inv * n)


def press(e, regressors, s_lab_ii, n):
    if regressors.shape[1] == 0:
        return np.mean(e**2)
    inv = np.linalg.inv(s_lab_ii * n)
    h = np.clip(np.einsum("ij,jk,ik->i", regressors, inv, regressors), 0.0, 0.9)
    return np.mean((e / (1.0 - h)) ** 2)


def candidates(name):
    d = pd.read_csv(HERE / f"{name}.csv")
    lab = d["labeled"].to_numpy() == 1
    xr = d[["x0", "x1", "x2"]].to_numpy()
    xp = d[["proxy_x0", "proxy_x1", "proxy_x2"]].to_numpy()
    yp = d["proxy_y"].to_numpy()
    y = d["y"].to_numpy()
    t, n, p = len(d), int(lab.sum()), 3
    f = n / t
    theta_real = ols(xr[lab], y[lab])
    eta_lab = ols(xp[lab], yp[lab])
    eta_all = ols(xp, yp)
    delta = eta_lab - eta_all
    phi_r = influence(xr[lab], y[lab] - xr[lab] @ theta_real)
    phi_p = influence(xp[lab], yp[lab] - xp[lab] @ eta_lab)
    a = phi_r.T @ phi_r / n
    c = phi_r.T @ phi_p / n
    s_lab = phi_p.T @ phi_p / n
    j_all_inv = np.linalg.inv(xp.T @ xp / t)
    phi_all = (xp * (yp - xp @ eta_all)[:, None]) @ j_all_inv
    s_unlab = phi_all[~lab].T @ phi_all[~lab] / t
    q = (2.0 - f) * s_lab - s_unlab
    w = 1.0 / np.diag(a)
    shared = np.sum(w * np.diag(c)) / np.sum(w * np.diag(s_lab))
    out = []
    for j in range(p):
        fits = {
            "real-only": ([], np.array([])),
            "per-source": ([j], np.array([shared])),
            "per-coordinate": ([j], np.linalg.solve(s_lab[np.ix_([j], [j])], c[j, [j]])),
            "unrestricted": (
                list(range(p)),
                np.linalg.solve(s_lab, c[j, :]),
            ),
        }
        row = {}
        for choice, (idx, lam) in fits.items():
            e = phi_r[:, j] - phi_p[:, idx] @ lam if idx else phi_r[:, j]
            loo = press(e, phi_p[:, idx], s_lab[np.ix_(idx, idx)], n)
            cj = c[j, idx]
            spread = (2.0 * lam @ cj - lam @ q[np.ix_(idx, idx)] @ lam) / t if idx else 0.0
            var = n / (n - p) * loo / n + spread
            theta = theta_real[j] - (lam @ delta[idx] if idx else 0.0)
            row[choice] = {"theta": float(theta), "se": float(np.sqrt(var))}
        out.append(row)
    return out


if __name__ == "__main__":
    expected = {name: candidates(name) for name in ["ols_T3000_n300_rho7", "ols_T1000_n100_rho0"]}
    (HERE / "selected_one_source.expected.json").write_text(json.dumps(expected, indent=1) + "\n")
