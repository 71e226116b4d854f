"""Expected values of the selected cross weights with one source, written out by hand.

For least squares with one proxy source sharing the real covariates, every candidate
correction of coefficient j is computed here from its definition (numpy only, nothing
from the crate):

* the pilot: prediction-powered inference with weight 1 on the proxy,
  theta~ = (X'X/T)^-1 [X'proxy/T + X_lab'(y - proxy)_lab / n] (kept within 3 real-only
  standard errors of theta_real in every coordinate, else theta_real);
* influence functions on the labeled rows: the real ones at theta~, scaled by HC2's
  1/sqrt(1 - h_t) (h_t the real design's leverage), phi_r = (X_lab'X_lab/n)^-1 x_t r_t;
  the proxy's at its all-rows fit eta_all, unscaled, with the same labeled Jacobian;
* A = E_lab[phi_r phi_r'], C = E_lab[phi_r phi_p'], S_lab = E_lab[phi_p phi_p'] (and A
  at theta_real for the reported scale s_j = sqrt(A_real,jj / A_jj));
* the unlabeled rows' S_unlab = mean over unlabeled rows of phi phi' with
  phi = (X'X/T)^-1 x_t e_t at eta_all; Q = (2 - f) S_lab - (1 - f) S_unlab, f = n/T;
* candidates for coordinate j: real-only, per-source (one lambda shared by every
  coordinate, the regression pooled over coordinates each divided by A_jj),
  per-coordinate (phi_r,j on phi_p,j) and unrestricted (phi_r,j on all of phi_p);
* theta_j = theta_real,j - lambda' (eta_lab - eta_all)_I;
* variance: k * (s_j^2 A_jj - 2 s_j lambda'c + lambda'S_lab lambda) / n
  + (2 s_j lambda'c - lambda'Q lambda) / T, with k = n/(n - p) * s~2 / s2, s2 the
  residual second moment A_jj - 2 lambda'c + lambda'S_lab lambda and s~2 its
  leave-one-out (PRESS) form mean((e_t / (1 - h_t))^2), h_t = phi_I,t' (n S_lab,II)^-1
  phi_I,t (at most 0.9), of coordinate j's own regression.

Run: python tests/data/make_selected_one_source.py  (numpy, pandas)
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def ols(x, y):
    return np.linalg.solve(x.T @ x, x.T @ y)


def hc2_influence(x, r):
    """(X'X/n)^-1 x_t r_t / sqrt(1 - h_t) on the labeled rows."""
    n = len(x)
    xtx_inv = np.linalg.inv(x.T @ x)
    h = np.einsum("ij,jk,ik->i", x, xtx_inv, x)
    return (x * (r / np.sqrt(1.0 - np.minimum(h, 0.9)))[:, None]) @ (xtx_inv * n)


def press(e, regressors, s_lab_ii, n):
    if regressors.shape[1] == 0:
        return np.mean(e**2)
    inv = np.linalg.inv(s_lab_ii * n)
    h = np.clip(np.einsum("ij,jk,ik->i", regressors, inv, regressors), 0.0, 0.9)
    return np.mean((e / (1.0 - h)) ** 2)


def candidates(name):
    d = pd.read_csv(HERE / f"{name}.csv")
    lab = d["labeled"].to_numpy() == 1
    x = d[["x0", "x1", "x2"]].to_numpy()
    xp = d[["proxy_x0", "proxy_x1", "proxy_x2"]].to_numpy()
    assert np.array_equal(x, xp), "the proxy shares the real covariates"
    yp = d["proxy_y"].to_numpy()
    y = d["y"].to_numpy()
    t, n, p = len(d), int(lab.sum()), 3
    f = n / t
    xl = x[lab]
    theta_real = ols(xl, y[lab])
    eta_lab = ols(xl, yp[lab])
    eta_all = ols(x, yp)
    delta = eta_lab - eta_all
    a_real = hc2_influence(xl, y[lab] - xl @ theta_real)
    a_real = a_real.T @ a_real / n
    real_se = np.sqrt(np.diag(a_real) / n)
    pilot = np.linalg.solve(x.T @ x / t, x.T @ yp / t + xl.T @ (y[lab] - yp[lab]) / n)
    center = pilot if np.all(np.abs(pilot - theta_real) <= 3 * real_se) else theta_real
    phi_r = hc2_influence(xl, y[lab] - xl @ center)
    j_lab_inv = np.linalg.inv(xl.T @ xl / n)
    phi_p = (xl * (yp[lab] - xl @ eta_all)[:, None]) @ j_lab_inv
    a = phi_r.T @ phi_r / n
    c = phi_r.T @ phi_p / n
    s_lab = phi_p.T @ phi_p / n
    phi_all = (x * (yp - x @ eta_all)[:, None]) @ np.linalg.inv(x.T @ x / t)
    s_unlab = phi_all[~lab].T @ phi_all[~lab] / (t - n)
    q = (2.0 - f) * s_lab - (1.0 - f) * s_unlab
    scale = np.sqrt(np.diag(a_real) / np.diag(a))
    w = 1.0 / np.diag(a)
    shared = np.sum(w * np.diag(c)) / np.sum(w * np.diag(s_lab))
    out = []
    for j in range(p):
        fits = {
            "real-only": ([], np.array([])),
            "per-source": ([j], np.array([shared])),
            "per-coordinate": ([j], np.linalg.solve(s_lab[np.ix_([j], [j])], c[j, [j]])),
            "unrestricted": (list(range(p)), np.linalg.solve(s_lab, c[j, :])),
        }
        row = {}
        for choice, (idx, lam) in fits.items():
            cj = c[j, idx]
            fitted = lam @ cj if idx else 0.0
            quad = lam @ s_lab[np.ix_(idx, idx)] @ lam if idx else 0.0
            s2 = a[j, j] - 2.0 * fitted + quad
            e = phi_r[:, j] - phi_p[:, idx] @ lam if idx else phi_r[:, j]
            loo = press(e, phi_p[:, idx], s_lab[np.ix_(idx, idx)], n)
            k = n / (n - p) * loo / s2
            s = scale[j]
            within = s * s * a[j, j] - 2.0 * s * fitted + quad
            spread = (2.0 * s * fitted - (lam @ q[np.ix_(idx, idx)] @ lam if idx else 0.0)) / t
            var = k * within / n + spread
            theta = theta_real[j] - (lam @ delta[idx] if idx else 0.0)
            row[choice] = {"theta": float(theta), "se": float(np.sqrt(var))}
        out.append(row)
    return out


if __name__ == "__main__":
    expected = {
        name: candidates(name) for name in ["ols_T3000_n300_rho7", "ols_T1000_n100_rho0"]
    }
    (HERE / "selected_one_source.expected.json").write_text(json.dumps(expected, indent=1) + "\n")
