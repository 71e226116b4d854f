"""Real-only least squares on the climate-stance task at 2% labeled (n = 37), with the
conventions of statsmodels: HC2 or HC3 standard errors and t(n - p) or normal quantiles.

    python3 docs/scripts/climate_small_n.py PATH/TO/GWStance [SUBSETS]

The same population, covariates and outcome as examples/climate_stance (the sentences
outside the held-out split; intercept, affirmative language by the dataset's lexicon,
log(1 + word count); outcome: the consensus agrees), and the coverage of the 95%
interval for the `affirm` coefficient over random labeled subsets (rank-deficient
subsets skipped and counted). Needs numpy, pandas, scipy and statsmodels.
"""

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats


def tokens(text):
    return [w.lower() for w in re.split(r"[^\w']+", text) if w]


def uses(lexicon, words):
    phrases = {"_".join(words[i:i + k]) for k in (1, 2, 3) for i in range(len(words) - k + 1)}
    return float(any(entry in phrases for entry in lexicon))


def population(root):
    d = pd.read_csv(root / "GWSD.tsv", sep="\t")
    d = d[d.agree.notna() & (d.in_held_out_test.astype(str) == "False")]
    lexicon = [w.strip().lower() for w in open(root / "4_analyses/lexicons/AFFIRM_WORDS.txt") if w.strip()]
    words = [tokens(s) for s in d.sentence]
    x = np.column_stack([np.ones(len(words)), [uses(lexicon, w) for w in words], [np.log(1 + len(w)) for w in words]])
    y = ((d.agree > d.disagree) & (d.agree > d.neutral)).astype(float).to_numpy()
    return x, y


def main(root, subsets):
    x, y = population(Path(root))
    truth = np.linalg.lstsq(x, y, rcond=None)[0][1]
    n, p = 37, x.shape[1]
    rules = {
        "HC2, t(n - p)": ("HC2", stats.t.ppf(0.975, n - p)),
        "HC3, t(n - p)": ("HC3", stats.t.ppf(0.975, n - p)),
        "HC2, normal": ("HC2", stats.norm.ppf(0.975)),
    }
    covered = dict.fromkeys(rules, 0)
    rng = np.random.default_rng(1)
    fitted = undefined = 0
    for _ in range(subsets):
        rows = rng.choice(len(y), n, replace=False)
        if np.linalg.matrix_rank(x[rows]) < p:
            continue
        model = sm.OLS(y[rows], x[rows])
        with np.errstate(divide="ignore", invalid="ignore"):
            fits = {name: model.fit(cov_type=cov_type) for name, (cov_type, _) in rules.items()}
        # A lone labeled sentence with the word has leverage 1: HC2 and HC3 divide by 0.
        if not all(np.isfinite(f.bse[1]) for f in fits.values()):
            undefined += 1
            continue
        fitted += 1
        for name, (_, q) in rules.items():
            covered[name] += abs(fits[name].params[1] - truth) <= q * fits[name].bse[1]
    print(
        f"T = {len(y)}, n = {n}: of {subsets} subsets, {fitted} with finite standard errors, "
        f"{undefined} with a leverage-1 row (skipped); affirm θ* = {truth:.4f}"
    )
    for name, c in covered.items():
        share = c / fitted
        print(f"  {name:<14} coverage {100 * share:.1f}% ± {100 * np.sqrt(share * (1 - share) / fitted):.1f}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3000)
