"""The tables of docs/tasks.md from the Monte-Carlo CSVs that run_tasks.sh writes.

    python3 docs/scripts/tasks_summary.py target/tasks

For each task x model: one table (every estimator at every labeling rate, the task's
coefficient), then a summary set beside the paper's claims, point by point. Standard
library only.
"""

import csv
import math
import sys
from pathlib import Path

# (title, CSV path under the run directory, coefficient)
RUNS = [
    ("Task 1, hedging -> politeness, OLS", "politeness_hedge_ols/politeness.csv", "hedge"),
    ("Task 1, hedging -> politeness, logistic", "politeness_hedge_logistic/politeness.csv", "hedge"),
    ("Task 2, first-person plural -> politeness, OLS", "politeness_we_ols/politeness.csv", "first_plural"),
    ("Task 2, first-person plural -> politeness, logistic", "politeness_we_logistic/politeness.csv", "first_plural"),
    ("Task 3, affirmative language -> climate stance, OLS", "climate_stance/climate_stance_ols.csv", "affirm"),
    ("Task 3, affirmative language -> climate stance, logistic", "climate_stance/climate_stance_logistic.csv", "affirm"),
]

REAL, NAIVE = "Real-only", "Naive pooled (model + synthetic)"
PPI, PPI_SYNTH = "PPI++ (model)", "PPI++Synth (model + synthetic)"
GMM_PROXY, GMM_SYNTH = "GMM-Proxy", "GMM-Synth"
# The estimators of the paper's table (naive pooling is reported, never "valid").
PAPER = [REAL, PPI, PPI_SYNTH, GMM_PROXY, GMM_SYNTH]


def load(path, coefficient):
    """{rate: {estimator: row}} for one coefficient."""
    out = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row["coefficient"] != coefficient:
                continue
            rate = float(row["value"])
            out.setdefault(rate, {})[row["estimator"]] = {
                "n": int(float(row["mean_labeled"])),
                "reps": int(row["reps"]),
                "fail": int(row["failures"]),
                "mse": float(row["mse"]),
                "bias": float(row["bias"]),
                "cover": float(row["coverage"]),
                "mcse": float(row["coverage_mcse"]),
                "width": float(row["mean_ci_width"]),
                "ess": row["ess"],
            }
    return out


def effective_n(value):
    """The effective number of labeled rows, rounded to a whole row."""
    try:
        return f"{float(value):.0f}"
    except (TypeError, ValueError):
        return str(value)


def table(results):
    lines = [
        "| labeled | estimator | MSE | MSE / real-only | bias | coverage | CI width | eff. n | failures |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for rate in sorted(results):
        rows = results[rate]
        real = rows[REAL]["mse"]
        first = True
        for name, r in rows.items():
            label = f"{100 * rate:g}% ({r['n']})" if first else ""
            first = False
            lines.append(
                f"| {label} | {name} | {r['mse']:.3e} | {r['mse'] / real:.2f} | {r['bias']:+.4f} "
                f"| {100 * r['cover']:.1f}% ± {100 * r['mcse']:.1f} | {r['width']:.4f} | {effective_n(r['ess'])} | {r['fail']} |"
            )
    return "\n".join(lines)


def valid(rows):
    return [n for n in PAPER if n in rows]


def claims(results):
    """The paper's claims, measured on one task x model."""
    rates = sorted(results)
    reps = results[rates[0]][REAL]["reps"]
    # Monte-Carlo relative standard error of an MSE (normal errors): sqrt(2 / R).
    noise = 2 * math.sqrt(2 / reps)
    lowest = [r for r in rates if min(valid(results[r]), key=lambda n: results[r][n]["mse"]) == GMM_SYNTH]
    near_lowest = [
        r for r in rates
        if results[r][GMM_SYNTH]["mse"] <= (1 + noise) * min(results[r][n]["mse"] for n in valid(results[r]))
    ]
    low = [r for r in rates if r <= 0.05]
    reduction = [1 - results[r][GMM_SYNTH]["mse"] / results[r][REAL]["mse"] for r in low]
    cover = [results[r][GMM_SYNTH]["cover"] for r in rates]
    narrowest = [
        r for r in rates
        if min(valid(results[r]), key=lambda n: results[r][n]["width"]) == GMM_SYNTH
    ]
    def ratio(a, b):
        # Starred where either estimator failed on over 5% of the subsets: the two
        # MSEs are then over different subsets.
        def each(r):
            ra, rb = results[r][a], results[r][b]
            flag = "*" if max(ra["fail"], rb["fail"]) > 0.05 * ra["reps"] else ""
            return f"{ra['mse'] / rb['mse']:.2f}{flag}"
        return ", ".join(each(r) for r in rates)

    failures = {n: max(results[r][n]["fail"] for r in rates) for n in PAPER}
    return {
        "lowest MSE (GMM-Synth, of the paper's estimators)": f"{len(lowest)}/{len(rates)} rates; within 2 MC se ({100 * noise:.0f}%) of the lowest at {len(near_lowest)}/{len(rates)}",
        "MSE reduction vs real-only at 1-5% labeled": ", ".join(f"{100 * x:.0f}%" for x in reduction),
        "GMM-Synth coverage over rates": f"{100 * min(cover):.1f}-{100 * max(cover):.1f}%",
        "narrowest valid interval (GMM-Synth)": f"{len(narrowest)}/{len(rates)} rates",
        "GMM-Synth MSE / GMM-Proxy MSE": ratio(GMM_SYNTH, GMM_PROXY),
        "PPI++Synth MSE / PPI++ MSE": ratio(PPI_SYNTH, PPI),
        "GMM-All (M = 3) MSE / real-only (ours, not the paper's)": ratio("GMM-All (M = 3)", REAL),
        "most failures at one rate": ", ".join(f"{n} {k}" for n, k in failures.items() if k),
    }


def main(directory):
    base = Path(directory)
    summary = []
    for title, path, coefficient in RUNS:
        file = base / path
        if not file.exists():
            print(f"## {title}\n\n(missing: {file})\n")
            continue
        results = load(file, coefficient)
        print(f"## {title} (coefficient `{coefficient}`)\n")
        print(table(results) + "\n")
        summary.append((title, claims(results)))
    if not summary:
        return
    keys = list(summary[0][1])
    print("## Against the paper's claims\n")
    print("Rates 1%, 2%, 5%, 10%, 20% in order; * where an estimator failed on over 5% of the subsets.\n")
    print("| | " + " | ".join(t for t, _ in summary) + " |")
    print("|---" * (len(summary) + 1) + "|")
    for k in keys:
        print(f"| {k} | " + " | ".join(c[k] for _, c in summary) + " |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/tasks")
