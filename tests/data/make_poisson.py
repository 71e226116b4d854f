"""Writes poisson_T3000_n300.csv and ppi_py's PPI++ Poisson results on it (run by hand).

Counts y ~ Poisson(exp(0.3 + 0.5 x1 - 0.4 x2)) with x1 normal and x2 binary; 300 of
3,000 rows labeled at random; the proxy is a Poisson draw around a perturbed mean (an
imperfect count model). Expected values: ppi_py's ppi_poisson_pointestimate and
ppi_poisson_ci (alpha 0.05 and 0.1, two-sided, and 'larger' at 0.05), with the proxy
and the real covariates, labeled and unlabeled rows disjoint.

    python make_poisson.py   # needs numpy, pandas, ppi_python
"""
import json

import numpy as np
import pandas as pd
import ppi_py
from ppi_py import ppi_poisson_ci, ppi_poisson_pointestimate

rng = np.random.default_rng(20251127)
T, n = 3000, 300
x1 = rng.normal(size=T)
x2 = (rng.random(T) < 0.4).astype(float)
X = np.column_stack([np.ones(T), x1, x2])
mu = np.exp(X @ np.array([0.3, 0.5, -0.4]))
y = rng.poisson(mu).astype(float)
proxy = rng.poisson(mu * np.exp(0.3 * rng.normal(size=T)) + 0.5 * y).astype(float)
labeled = np.zeros(T, dtype=bool)
labeled[rng.choice(T, size=n, replace=False)] = True

frame = pd.DataFrame({"labeled": labeled.astype(int), "y": np.where(labeled, y, np.nan),
                      "x0": 1.0, "x1": x1, "x2": x2, "proxy_y": proxy})
frame.to_csv("poisson_T3000_n300.csv", index=False, float_format="%.17g", na_rep="")

args = (X[labeled], y[labeled], proxy[labeled], X[~labeled], proxy[~labeled])
expected = {
    "pointestimate": ppi_poisson_pointestimate(*args).tolist(),
    "ci_95": np.column_stack(ppi_poisson_ci(*args, alpha=0.05)).tolist(),
    "ci_90": np.column_stack(ppi_poisson_ci(*args, alpha=0.1)).tolist(),
    # ppi_py returns (lower bounds, inf) for a one-sided interval.
    "ci_95_larger_lower": ppi_poisson_ci(*args, alpha=0.05, alternative="larger")[0].tolist(),
    "source": "ppi_py %s ppi_poisson_pointestimate / ppi_poisson_ci" % getattr(ppi_py, "__version__", "0.2.3"),
}
with open("poisson_T3000_n300.expected.json", "w") as f:
    json.dump(expected, f, indent=1)
print(json.dumps(expected, indent=1))
