"""Quantile references (models::Quantile).

quantile_T3000_n300.csv: 3,000 rows, 300 labeled at random; y log-normal (skewed), a
proxy that is biased and noisy. Expected values, each from an independent computation:

- ppi_py 0.2.3: ppi_quantile_pointestimate (exact grid: the crossing of the rectified
  CDF, no smoothing) and ppi_quantile_ci (a test inversion at alpha = 0.05) for q in
  {0.1, 0.5, 0.9}, proxy on the unlabeled rows as Yhat_unlabeled.
- statsmodels QuantReg on the labeled rows with a constant (kernel "gau", bandwidth
  "hsheather", vcov "iid"): the sample quantile and the kernel-density standard error.
- the crate's smoothed estimator written out with scipy: the root of
  q - mean Phi((theta - y)/h_s) by brentq, h_s = s / sqrt(n), s = min(sd, IQR/1.34);
  the density f = mean phi((theta - y)/h)/h with statsmodels' Hall-Sheather bandwidth
  h = s (Phi^-1(q + h_q) - Phi^-1(q - h_q)) ("smoothed") and with Silverman's
  h = 0.9 s n^(-1/5), the crate's default ("smoothed_silverman"); the sandwich of the three levels jointly,
  HC0 (J^-1 sum psi psi' J^-1) and HC2 (each psi_t / sqrt(1 - l_t), leverage
  l_t = sum_j k_tj / sum_t k_tj).

    python tests/data/make_quantile.py   # writes quantile_T3000_n300.csv/.expected.json
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
from ppi_py import ppi_quantile_ci, ppi_quantile_pointestimate
from scipy import optimize, stats
from statsmodels.regression.quantile_regression import QuantReg, hall_sheather

HERE = Path(__file__).parent
LEVELS = [0.1, 0.5, 0.9]


def make_data():
    rng = np.random.default_rng(20261203)
    t, n = 3000, 300
    y = np.exp(0.5 * rng.standard_normal(t))
    proxy = 0.1 + y * np.exp(0.25 * rng.standard_normal(t))
    labeled = np.zeros(t, dtype=int)
    labeled[rng.choice(t, n, replace=False)] = 1
    return pd.DataFrame({"labeled": labeled, "y": y, "proxy": proxy})


def scale(y):
    iqr = np.subtract(*np.percentile(y, [75, 25]))
    return min(np.std(y), iqr / 1.34)


def hall_sheather_bandwidths(y):
    n, s = len(y), scale(y)
    return np.array([s * (stats.norm.ppf(q + hall_sheather(n, q)) - stats.norm.ppf(q - hall_sheather(n, q)))
                     for q in LEVELS])


def silverman_bandwidths(y):
    return np.full(len(LEVELS), 0.9 * scale(y) * len(y) ** -0.2)


def smoothed(y, h):
    n, s = len(y), scale(y)
    h_s = s / np.sqrt(n)
    theta = np.array([
        optimize.brentq(lambda th: q - stats.norm.cdf((th - y) / h_s).mean(),
                        y.min() - 1, y.max() + 1, xtol=1e-14)
        for q in LEVELS])
    k = stats.norm.pdf((theta[None, :] - y[:, None]) / h) / h   # n x 3 kernel weights
    jac = -np.diag(k.sum(axis=0))
    psi = np.array(LEVELS)[None, :] - stats.norm.cdf((theta[None, :] - y[:, None]) / h_s)
    j_inv = np.linalg.inv(jac)
    leverage = (k / k.sum(axis=0)).sum(axis=1)
    out = {"theta": theta.tolist(), "smoothing": h_s, "bandwidths": h.tolist()}
    for name, scores in [("hc0", psi), ("hc2", psi / np.sqrt(1 - leverage)[:, None])]:
        cov = j_inv @ (scores.T @ scores) @ j_inv.T
        out[name] = np.sqrt(np.diag(cov)).tolist()
    return out


def main():
    data = make_data()
    data.to_csv(HERE / "quantile_T3000_n300.csv", index=False, float_format="%.17g")
    lab = data[data.labeled == 1]
    unl = data[data.labeled == 0]
    y, yhat, yhat_u = lab.y.to_numpy(), lab.proxy.to_numpy(), unl.proxy.to_numpy()
    ppi, statsmodels = [], []
    for q in LEVELS:
        point = ppi_quantile_pointestimate(y, yhat, yhat_u, q, exact_grid=True)
        lo, hi = ppi_quantile_ci(y, yhat, yhat_u, q, alpha=0.05, exact_grid=True)
        ppi.append({"q": q, "point": float(point), "ci": [float(lo), float(hi)]})
        fit = QuantReg(y, np.ones((len(y), 1))).fit(q=q, kernel="gau", bandwidth="hsheather",
                                                     vcov="iid", max_iter=5000, p_tol=1e-10)
        statsmodels.append({"q": q, "theta": float(fit.params[0]), "se": float(fit.bse[0]),
                            "bandwidth": float(fit.bandwidth)})
    expected = {
        "levels": LEVELS,
        "n": int(len(lab)),
        "sample_quantiles": np.quantile(y, LEVELS).tolist(),
        "ppi_py": ppi,
        "statsmodels": statsmodels,
        "smoothed": smoothed(y, hall_sheather_bandwidths(y)),
        "smoothed_silverman": smoothed(y, silverman_bandwidths(y)),
    }
    (HERE / "quantile_T3000_n300.expected.json").write_text(json.dumps(expected, indent=1))


if __name__ == "__main__":
    main()
