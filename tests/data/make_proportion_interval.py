"""The interval of a proportion on the logit scale, in closed form.

For n labeled 0/1 outcomes with p̂ = mean, the real-only estimate in its default
small-sample form (HC2, whose variance of a mean is s²/n with s² the sample variance,
and t(n − 1) quantiles) has se = √(p̂(1 − p̂)/(n − 1)); its 95% interval on the logit
scale is expit(logit p̂ ± t_{n−1, 0.975} · se / (p̂(1 − p̂))), as Stata's `proportion`
and R survey's `svyciprop(method = "logit")` form it, and its one-sided 95% bounds use
t_{n−1, 0.95}. Three samples: 4 positives of 50, 1 of 30 and 48 of 50, each with a
proxy on 4n rows (for fits that carry a source).

Writes `proportion_interval.expected.json`. Run by hand: python make_proportion_interval.py
(numpy, scipy)
"""

import json
import os

import numpy as np
from scipy import stats

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261207)
expit = lambda v: 1.0 / (1.0 + np.exp(-v))
out = {"scipy": __import__("scipy").__version__}
for name, n, positives in (("4_of_50", 50, 4), ("1_of_30", 30, 1), ("48_of_50", 50, 48)):
    y = np.zeros(n)
    y[rng.choice(n, positives, replace=False)] = 1.0
    p = y.mean()
    se = np.sqrt(p * (1 - p) / (n - 1))
    assert abs(se - y.std(ddof=1) / np.sqrt(n)) < 1e-15
    centre, spread = np.log(p / (1 - p)), se / (p * (1 - p))
    two = stats.t.ppf(0.975, n - 1)
    one = stats.t.ppf(0.95, n - 1)
    t_rows = 4 * n
    # Every fourth row labeled; the labeled rows' outcomes are y, the others unknown.
    truth = np.concatenate([y, (rng.random(t_rows - n) < p).astype(float)])
    order = np.zeros(t_rows, dtype=int)
    order[::4] = np.arange(n)
    order[np.arange(t_rows) % 4 != 0] = n + np.arange(t_rows - n)
    outcome = truth[order]
    flip = rng.random(t_rows) < 0.1
    proxy = np.where(flip, 1.0 - outcome, outcome)
    out[name] = {
        "labeled": [bool(i % 4 == 0) for i in range(t_rows)],
        "y": [float(v) if i % 4 == 0 else None for i, v in enumerate(outcome)],
        "proxy": proxy.tolist(),
        "estimate": p,
        "se": se,
        "df": n - 1,
        "ci_95": [expit(centre - two * spread), expit(centre + two * spread)],
        "lower_95": expit(centre - one * spread),
        "upper_95": expit(centre + one * spread),
        "wald_95": [p - two * se, p + two * se],
    }
with open(os.path.join(here, "proportion_interval.expected.json"), "w") as f:
    json.dump(out, f, indent=1)
