"""The least-squares low-labeling table of docs/validation.md from `synthgmm simulate`.

    for rho in 0.9 0.5 0; do
      synthgmm simulate --reps 2000 --rho $rho --rates 0.01,0.02,0.05,0.2 --out sim-$rho
    done
    python docs/scripts/low_labeling_table.py sim-0.9 sim-0.5 sim-0

Each directory holds one ρ's `monte_carlo.csv`. Prints one markdown row per ρ and rate:
the slope's MSE for each estimator, the paper's and the default's in brackets as a
ratio to the best of PPI++, PPI++Synth and GMM-Proxy, then the default's coverage; a
star marks an estimator that failed on some data sets.
"""

import csv
import sys
from pathlib import Path

COLUMNS = ["Real-only", "PPI++ (proxy)", "PPI++Synth (proxy + synth)", "GMM-Proxy"]
YARDSTICK = ["PPI++ (proxy)", "PPI++Synth (proxy + synth)", "GMM-Proxy"]


def rows(directory):
    """{(estimator, rate): row} for the slope x1."""
    with open(Path(directory) / "monte_carlo.csv") as f:
        return {
            (r["estimator"], float(r["value"])): r
            for r in csv.DictReader(f)
            if r["coefficient"] == "x1"
        }


def main(directories):
    for directory in directories:
        table = rows(directory)
        rho = directory.rstrip("/").rsplit("-", 1)[-1]
        for rate in sorted({rate for _, rate in table}):
            mse = {name: float(table[(name, rate)]["mse"]) for name, r in table if r == rate}
            best = min(mse[name] for name in YARDSTICK)
            n = round(float(table[("Real-only", rate)]["mean_labeled"]))
            # An estimator that failed on some data sets: its MSE is over the others.
            failed = lambda name: int(table[(name, rate)]["failures"]) > 0
            cells = [f"{mse[name]:.3e}" + "*" * failed(name) for name in COLUMNS]
            for name in ["GMM-Synth (paper)", "GMM-Synth"]:
                cells.append(f"{mse[name]:.3e} ({mse[name] / best:.2f})")
            coverage = float(table[("GMM-Synth", rate)]["coverage"])
            print(f"| {rho} | {100 * rate:g}% ({n}) | " + " | ".join(cells) + f" | {100 * coverage:.1f}% |")


if __name__ == "__main__":
    main(sys.argv[1:])
