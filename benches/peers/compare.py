"""Times ppi_py and synthgmm on the same data, in one run, and prints the ratios.

Run by hand (not in CI), from the repository root:

    python -m venv /tmp/peers && /tmp/peers/bin/pip install numpy ppi_python
    /tmp/peers/bin/python benches/peers/compare.py [ROWS] [P] [DESIGNS]

Data: T rows (default 10^6), p covariates (default 10: an intercept and p - 1 standard
normals), 10% labeled at random, a proxy and a synthetic outcome, on each design of
`DESIGNS` (continuous or thresholded predictions, strong or weak sources, a source far
from the labeled fit; a comma-separated list as the third argument picks some). ppi_py
fits PPI++ with the proxy (its only source); synthgmm fits its default estimator with
both sources (selected cross weights), real-only and PPI++ with the proxy. Each time is the median
of several runs; synthgmm's come from `examples/scale.rs --data`. When the Python
package is installed in the same environment (`maturin develop --release -m
python/Cargo.toml`), `synthgmm.fit` is timed too, from numpy arrays to intervals
(building the validated data set included, which the Rust timings leave out; the
Rust build from borrowed arrays, the covariates copied once, is timed on its own).
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from ppi_py import ppi_logistic_ci, ppi_ols_ci


# Each design: the sources' residual correlations with the outcome, how a source's
# prediction is reported (continuous, or thresholded at zero), and whether the synthetic
# source is far from the labeled fit (its outcome 3 + 2 x'beta + noise: coefficients
# far from theta).
DESIGNS = {
    "continuous": dict(rho=(0.7, 0.5), binary=False, far=False),
    "binary": dict(rho=(0.7, 0.5), binary=True, far=False),
    "strong": dict(rho=(0.95, 0.9), binary=False, far=False),
    "weak": dict(rho=(0.2, 0.1), binary=False, far=False),
    "far": dict(rho=(0.7, 0.5), binary=False, far=True),
}


def simulate(t, p, logistic, design="binary", seed=42):
    """Labels, covariates, outcome and two sources for one design of `DESIGNS`.

    Logistic outcomes are Bernoulli(sigmoid(x'beta + e)); a continuous source of a
    logistic outcome is a probability, sigmoid of its prediction.
    """
    spec = DESIGNS[design]
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.ones(t), rng.standard_normal((t, p - 1))])
    beta = 0.5 / (1.0 + np.arange(p))
    lin = x @ beta
    e = rng.standard_normal(t)
    sources = [lin + r * e + np.sqrt(1 - r * r) * rng.standard_normal(t) for r in spec["rho"]]
    if spec["far"]:
        sources[1] = 3.0 + 2.0 * sources[1]
    labeled = rng.random(t) < 0.1
    if logistic:
        y = (rng.random(t) < 1.0 / (1.0 + np.exp(-(lin + e)))).astype(float)
        if not spec["binary"]:
            sources = [1.0 / (1.0 + np.exp(-s)) for s in sources]
    else:
        y = lin + e
    if spec["binary"]:
        sources = [(s > 0).astype(float) for s in sources]
    return labeled, x, y, sources[0], sources[1]


def write_binary(path, labeled, x, y, proxy, synth):
    t, p = x.shape
    parts = [np.array([t, p], float), labeled.astype(float), y, x.ravel(), proxy, synth]
    np.concatenate(parts).astype("<f8").tofile(path)


def time_ppi_py(labeled, x, y, proxy, logistic, runs=3):
    fit = ppi_logistic_ci if logistic else ppi_ols_ci
    lab, unl = labeled, ~labeled
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fit(x[lab], y[lab], proxy[lab], x[unl], proxy[unl], alpha=0.05)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_synthgmm(path, logistic):
    cmd = ["cargo", "run", "--quiet", "--release", "--example", "scale", "--",
           "--data", path, "--model", "logistic" if logistic else "ols"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return {line.split()[0]: float(line.split()[1]) for line in out.splitlines()}


def time_python(labeled, x, y, proxy, synth, logistic, runs=5):
    """Median seconds of synthgmm.fit(...).conf_int() for GMM (M = 2) and PPI++, or None."""
    try:
        import synthgmm
    except ImportError:
        return None
    args = dict(y=np.where(labeled, y, np.nan), x=x, labeled=labeled, intercept=False,
                model="logistic" if logistic else "ols")
    out = {}
    for key, estimator, sources in (("gmm", "gmm", {"proxy": proxy, "synth": synth}),
                                    ("ppi", "ppi", {"proxy": proxy})):
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            synthgmm.fit(**args, sources=sources, estimator=estimator).conf_int(0.05)
            times.append(time.perf_counter() - start)
        out[key] = statistics.median(times)
    return out


def main():
    t = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    p = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    designs = sys.argv[3].split(",") if len(sys.argv) > 3 else list(DESIGNS)
    print(f"T = {t}, p = {p}, 10% labeled, M = 2 (ppi_py: the proxy only)")
    print("| design | model | ppi_py PPI++ (s) | synthgmm GMM (s) | synthgmm PPI++ (s) | "
          "synthgmm real-only (s) | building the data set (s) | PPI++ ratio | GMM ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for design in designs:
            for logistic in (False, True):
                data = simulate(t, p, logistic, design)
                path = os.path.join(tmp, "data.bin")
                write_binary(path, *data)
                ours = time_synthgmm(path, logistic)
                theirs = time_ppi_py(data[0], data[1], data[2], data[3], logistic)
                name = "logistic" if logistic else "OLS"
                print(f"| {design} | {name} | {theirs:.3f} | {ours['gmm']:.3f} | "
                      f"{ours['ppi']:.3f} | {ours['real']:.3f} | {ours['build']:.3f} | "
                      f"{theirs / ours['ppi']:.1f}x | {theirs / ours['gmm']:.1f}x |")
                py = time_python(*data, logistic)
                if py is not None:
                    print(f"| {design} | {name}, from Python | | {py['gmm']:.3f} | "
                          f"{py['ppi']:.3f} | | | {theirs / py['ppi']:.1f}x | "
                          f"{theirs / py['gmm']:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
