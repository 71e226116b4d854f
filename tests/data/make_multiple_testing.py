"""Adjusted p-values from statsmodels' multipletests (Bonferroni, Holm, Benjamini–
Hochberg): on a fixed vector with ties and on the HC2 t-test p-values of the least-squares
fit of multcomp_n40.csv (made by make_multiple_testing.R).

    python tests/data/make_multiple_testing.py   # writes multiple_testing.expected.json
"""

import json
from pathlib import Path

import pandas as pd
import statsmodels.api as sm
from statsmodels.stats.multitest import multipletests

HERE = Path(__file__).parent
METHODS = {"bonferroni": "bonferroni", "holm": "holm", "bh": "fdr_bh"}

vector = [0.001, 0.02, 0.02, 0.04, 0.3, 0.049, 0.7, 0.0005, 1.0, 0.2]
data = pd.read_csv(HERE / "multcomp_n40.csv")
fit = sm.OLS(data["y"], sm.add_constant(data[["x1", "x2", "x3"]])).fit(
    cov_type="HC2", use_t=True)
fitted = list(fit.pvalues)

out = {
    "vector": vector,
    "vector_adjusted": {k: list(multipletests(vector, method=m)[1]) for k, m in METHODS.items()},
    "fit_p_values": fitted,
    "fit_adjusted": {k: list(multipletests(fitted, method=m)[1]) for k, m in METHODS.items()},
}
(HERE / "multiple_testing.expected.json").write_text(json.dumps(out, indent=1) + "\n")
