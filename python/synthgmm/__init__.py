"""Valid inference from a few human labels plus proxy and synthetic data.

The two-step GMM estimator of Byun, Gupta, Lipton, Childers and Wilder (*Valid
Inference with Imperfect Synthetic Data*, NeurIPS 2025), with the baselines it is
compared with (real-only, naive pooling, PPI++, PPI++Synth, DSL, RePPI), computed by
the Rust crate ``synthgmm``.

>>> import numpy as np, synthgmm
>>> rng = np.random.default_rng(0)
>>> t = 2000
>>> x = rng.normal(size=t)
>>> e = rng.normal(size=t)
>>> y = 1.0 + 2.0 * x + e
>>> proxy = 0.8 + 1.9 * x + 0.8 * e + 0.3 * rng.normal(size=t)
>>> labeled = np.arange(t) % 10 == 0
>>> res = synthgmm.fit(y=np.where(labeled, y, np.nan), x=x, labeled=labeled,
...                    sources={"proxy": proxy})
>>> res.names
['Intercept', 'x1']
>>> bool(res.bse[1] < res.real_only_bse[1])
True
"""

from ._api import (
    ESTIMATORS, Design, JTest, Outcomes, Plan, Result, Summary, WaldTest, compare, design, fit,
    fit_outcomes, fit_sql, plan, side_by_side,
)
from ._core import (
    CollinearError,
    CovariateMismatchError,
    DuplicateSourceError,
    EmptyDesignError,
    InvalidConfigError,
    InvalidEstimateError,
    InvalidValueError,
    LengthMismatchError,
    MissingColumnError,
    MissingRealDataError,
    MissingSourceError,
    ModelDimensionError,
    NoLabeledRowsError,
    NonFiniteError,
    NeedsInMemoryError,
    NotConvergedError,
    NoUnlabeledRowsError,
    OverIdentifiedError,
    PerfectFitError,
    SingleRowFitError,
    QuantileUnsupportedError,
    ReadError,
    SeparationError,
    ShapeMismatchError,
    SingularCovarianceError,
    SingularWeightError,
    SynthGmmError,
    TooFewLabeledError,
    __version__,
)

__all__ = [
    "fit",
    "fit_outcomes",
    "fit_sql",
    "Outcomes",
    "compare",
    "side_by_side",
    "plan",
    "Plan",
    "design",
    "Design",
    "Result",
    "Summary",
    "JTest",
    "WaldTest",
    "ESTIMATORS",
    "SynthGmmError",
    "CollinearError",
    "CovariateMismatchError",
    "DuplicateSourceError",
    "EmptyDesignError",
    "InvalidConfigError",
    "InvalidEstimateError",
    "InvalidValueError",
    "LengthMismatchError",
    "MissingColumnError",
    "MissingRealDataError",
    "MissingSourceError",
    "ModelDimensionError",
    "NoLabeledRowsError",
    "NonFiniteError",
    "NeedsInMemoryError",
    "NotConvergedError",
    "NoUnlabeledRowsError",
    "OverIdentifiedError",
    "PerfectFitError",
    "SingleRowFitError",
    "QuantileUnsupportedError",
    "ReadError",
    "SeparationError",
    "ShapeMismatchError",
    "SingularCovarianceError",
    "SingularWeightError",
    "TooFewLabeledError",
    "__version__",
]
