"""Simultaneous critical values across outcomes from each outcome's correlation matrix,
combined by the Gaussian correlation inequality: the c solving
Π_k P(max_j |Z_kj| ≤ c) = 1 − α, each factor a multivariate normal rectangle
probability from scipy (Genz's algorithm, error about 1e-6), not from draws.

    python tests/data/make_outcome_blocks.py   # writes outcome_blocks.expected.json
"""

import json
from pathlib import Path

import numpy as np
from scipy.optimize import brentq
from scipy.stats import multivariate_normal

HERE = Path(__file__).parent
BLOCKS = [
    [[1.0, 0.6, 0.3], [0.6, 1.0, -0.2], [0.3, -0.2, 1.0]],
    [[1.0, -0.7], [-0.7, 1.0]],
]
STATISTICS = [1.5, 2.3, 2.9]


def inside(corr, c):
    """P(max_j |Z_j| ≤ c) for Z ~ N(0, corr)."""
    corr = np.asarray(corr)
    dist = multivariate_normal(mean=np.zeros(len(corr)), cov=corr, allow_singular=True,
                               abseps=1e-8, releps=1e-8, maxpts=10_000_000)
    return float(dist.cdf(np.full(len(corr), c), lower_limit=np.full(len(corr), -c)))


def product(c):
    return float(np.prod([inside(b, c) for b in BLOCKS]))


out = {"blocks": BLOCKS, "critical": [], "single_step": []}
for alpha in [0.05, 0.10]:
    c = brentq(lambda c: product(c) - (1 - alpha), 1.0, 5.0, xtol=1e-10)
    h = 1e-4
    out["critical"].append({
        "alpha": alpha,
        "c": c,
        "each_block": [inside(b, c) for b in BLOCKS],
        "density": (product(c + h) - product(c - h)) / (2 * h),
        "one_block_c": brentq(lambda c: inside(BLOCKS[0], c) - (1 - alpha), 1.0, 5.0,
                              xtol=1e-10),
    })
for t in STATISTICS:
    out["single_step"].append({"t": t, "p": 1 - product(t),
                               "each_block": [inside(b, t) for b in BLOCKS]})
(HERE / "outcome_blocks.expected.json").write_text(json.dumps(out, indent=1) + "\n")
