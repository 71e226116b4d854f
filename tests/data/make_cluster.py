"""Clustered data for the cluster-robust tests, with statsmodels' cluster covariances.

Run by hand (numpy, pandas, statsmodels 0.14):

    python tests/data/make_cluster.py

Writes `cluster_T600.csv` and `cluster_T600.expected.json`: 600 rows in 70 clusters of
2-16 rows, intra-cluster correlation in x, in the outcome and in the proxy; 240 rows
labeled. Expected values: statsmodels OLS on the labeled rows with
`cov_type='cluster'` and `use_correction=False` (no small-sample factor), and the same
times G/(G - 1) (the crate's convention), G = clusters among the labeled rows, with
the t(G - 1) quantile of `use_t=True`; and the
weighted-free naive pool (labeled real rows stacked over every proxy row) with the
same convention.
"""
import json

import numpy as np
import pandas as pd
import statsmodels.api as sm

rng = np.random.default_rng(20261126)
sizes = rng.integers(2, 17, size=70)
cluster = np.repeat(np.arange(70), sizes)[:600]
t = len(cluster)
if t < 600:
    cluster = np.concatenate([cluster, np.full(600 - t, 69)])
t = 600
c_x = rng.standard_normal(70)
c_e = rng.standard_normal(70)
x1 = 0.6 * c_x[cluster] + 0.8 * rng.standard_normal(t)
x2 = rng.standard_normal(t)
e = np.sqrt(0.3) * c_e[cluster] + np.sqrt(0.7) * rng.standard_normal(t)
y = 1.0 + 0.5 * x1 - 0.3 * x2 + e
proxy = 1.0 + 0.5 * x1 - 0.3 * x2 + 0.8 * e + 0.6 * rng.standard_normal(t)
labeled = rng.random(t) < 0.4
frame = pd.DataFrame({
    "labeled": labeled.astype(int),
    "cluster": [f"c{c:02d}" for c in cluster],
    "one": 1.0, "x1": x1, "x2": x2,
    "y": np.where(labeled, y, np.nan),
    "proxy_y": proxy,
})
frame.to_csv("tests/data/cluster_T600.csv", index=False, float_format="%.17g")

x = np.column_stack([np.ones(t), x1, x2])
lab = labeled
groups = cluster[lab]
ols = sm.OLS(y[lab], x[lab]).fit(cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False})
g = len(np.unique(groups))
# statsmodels' few-cluster convention with use_t: t(G - 1) quantiles; the interval's
# half-width over the standard error is that quantile.
ols_t = sm.OLS(y[lab], x[lab]).fit(
    cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False}, use_t=True
)
t_quantile = float((ols_t.conf_int(0.05)[1, 1] - ols_t.params[1]) / ols_t.bse[1])
pooled_x = np.vstack([x[lab], x])
pooled_y = np.concatenate([y[lab], proxy])
pooled_g = np.concatenate([groups, cluster])
naive = sm.OLS(pooled_y, pooled_x).fit(cov_type="cluster", cov_kwds={"groups": pooled_g, "use_correction": False})
g_all = len(np.unique(pooled_g))
# DSL for least squares with a constant labeling rate is the regression of the
# pseudo-outcome f + S/pi (y - f) on x.
pi = lab.mean()
pseudo = proxy + np.where(lab, (np.nan_to_num(y) - proxy) / pi, 0.0)
dsl = sm.OLS(pseudo, x).fit(cov_type="cluster", cov_kwds={"groups": cluster, "use_correction": False})
g_dsl = len(np.unique(cluster))
out = {
    "dsl": {
        "theta": dsl.params.tolist(),
        "clusters": g_dsl,
        "cov": (dsl.cov_params() * g_dsl / (g_dsl - 1)).tolist(),
    },
    "real_only": {
        "theta": ols.params.tolist(),
        "cov_no_correction": ols.cov_params().tolist(),
        "clusters": g,
        "cov": (ols.cov_params() * g / (g - 1)).tolist(),
        "t_df": float(ols_t.df_resid_inference),
        "t_quantile": t_quantile,
    },
    "naive": {
        "theta": naive.params.tolist(),
        "clusters": g_all,
        "cov": (naive.cov_params() * g_all / (g_all - 1)).tolist(),
    },
}
with open("tests/data/cluster_T600.expected.json", "w") as f:
    json.dump(out, f, indent=1)
print(json.dumps(out, indent=1))
