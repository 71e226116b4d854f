"""Panel-like data for the fixed-effects tests.

Run by hand (numpy, pandas):

    python tests/data/make_fixed_effects_data.py

Writes `fixed_effects.csv`: 638 rows of 40 firms (unequal sizes, 6-24 rows) over
6 periods, with covariates correlated with both effects, a heteroskedastic outcome
y = 0.8 x1 - 0.5 x2 + firm + period + e, a proxy outcome (the same effects, a shrunken
slope and part of e), a weight w = 1 + 0.5 |x2|, and 261 rows labeled at random with at
least two labeled rows per firm and per period. The expected values come from
`make_fixed_effects.R` (R's estimatr) and `make_fixed_effects.py` (linearmodels).
"""
import numpy as np
import pandas as pd

rng = np.random.default_rng(20261204)
sizes = rng.integers(6, 25, size=40)
firm = np.repeat(np.arange(40), sizes)
t = len(firm)
period = rng.integers(0, 6, size=t)
a = rng.standard_normal(40) * 1.5
g = np.linspace(-1.0, 1.0, 6)
x1 = 0.7 * a[firm] + 0.4 * g[period] + rng.standard_normal(t)
x2 = rng.standard_normal(t) + 0.3 * a[firm]
e = rng.standard_normal(t) * (0.5 + 0.5 * np.abs(x1)) + 0.4 * rng.standard_normal(40)[firm]
y = 0.8 * x1 - 0.5 * x2 + a[firm] + g[period] + e
proxy = 0.6 * x1 - 0.5 * x2 + a[firm] + g[period] + 0.7 * e + 0.5 * rng.standard_normal(t)
while True:
    labeled = rng.random(t) < 0.4
    lf = np.bincount(firm[labeled], minlength=40)
    lp = np.bincount(period[labeled], minlength=6)
    if lf.min() >= 2 and lp.min() >= 2:
        break
frame = pd.DataFrame({
    "labeled": labeled.astype(int),
    "firm": [f"f{c:02d}" for c in firm],
    "period": period,
    "x1": x1, "x2": x2,
    "y": np.where(labeled, y, np.nan),
    "proxy": proxy,
    "w": 1 + 0.5 * np.abs(x2),
})
frame.to_csv("tests/data/fixed_effects.csv", index=False, float_format="%.17g")
print(t, labeled.sum())
