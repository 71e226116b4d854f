"""The Python API: data in DataFrame or array form, results in statsmodels' idiom."""

from __future__ import annotations

from collections import namedtuple
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from ._core import InvalidConfigError, InvalidValueError, LengthMismatchError

try:  # pandas is optional: numpy users get numpy results.
    import pandas as _pd
except ImportError:  # pragma: no cover - exercised only without pandas
    _pd = None

__all__ = ["fit", "fit_outcomes", "Outcomes", "compare", "side_by_side", "plan", "Plan", "design", "Design", "Result", "Summary", "JTest", "WaldTest",
           "ESTIMATORS"]

JTest = namedtuple("JTest", ["statistic", "df", "pvalue"])
JTest.__doc__ = "Hansen's test of the over-identifying restrictions; pvalue is None when df = 0."
WaldTest = namedtuple("WaldTest", ["statistic", "df", "pvalue"])
WaldTest.__doc__ = "Wald test of linear restrictions R theta = r (chi-squared with df = rank R)."

#: Estimator names accepted by ``fit(estimator=...)`` and ``compare(estimators=...)``.
#: A name may carry the sources it uses: ``"ppi:synth"``, ``"gmm:proxy,synth"``.
ESTIMATORS = ("gmm", "real-only", "naive", "ppi", "ppi-synth", "dsl", "reppi")

INTERCEPT = "Intercept"

Array = Any  # numpy array, pandas Series or anything np.asarray accepts
Columns = Union[str, Sequence[str]]
SourceSpec = Union[Any, Tuple[Any, Any]]


class Summary(str):
    """The text summary; prints as itself (also as the last value of a notebook cell)."""

    def __repr__(self) -> str:
        return str(self)

    def as_text(self) -> str:
        return str(self)


def _is_frame(obj: Any) -> bool:
    return _pd is not None and isinstance(obj, _pd.DataFrame)


def _floats(values: Array, what: str) -> np.ndarray:
    """A float64 copy or view of one column; pandas missing values become NaN."""
    try:
        if hasattr(values, "to_numpy"):
            out = values.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InvalidValueError(f"{what} is not numeric: {err}") from None
    return out


def _matrix(values: Array, what: str) -> np.ndarray:
    out = _floats(values, what)
    if out.ndim == 1:
        out = out.reshape(-1, 1)
    if out.ndim != 2:
        raise InvalidValueError(f"{what} must be a 1- or 2-dimensional array, got {out.ndim} dimensions")
    return out


def _reference_df(fit) -> np.ndarray:
    """Each coefficient's t degrees of freedom (its own, else n - p), NaN for normal
    quantiles."""
    if fit.coefficient_df is not None:
        return np.asarray(fit.coefficient_df, dtype=float)
    df = np.nan if fit.df_resid is None else fit.df_resid
    return np.full(len(fit.names), df, dtype=float)


def _vector(values: Array, what: str) -> np.ndarray:
    out = _floats(values, what)
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.ndim != 1:
        raise InvalidValueError(f"{what} must be one column, got shape {out.shape}")
    return out


def _mask(values: Array) -> np.ndarray:
    """The label indicator: booleans, or numbers that are all 0 or 1."""
    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InvalidValueError(f"labeled must be one column, got shape {arr.shape}")
    if arr.dtype == np.bool_:
        return arr
    try:
        num = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise InvalidValueError("labeled must hold booleans or 0/1") from None
    bad = ~np.isin(num, (0.0, 1.0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InvalidValueError(f"labeled must hold booleans or 0/1; row {row} is {arr[row]!r}")
    return num == 1.0


def _cluster_codes(values: Array, what: str = "clusters") -> np.ndarray:
    """Dense integer codes for any hashable labels (clusters, fixed-effect levels)."""
    if _pd is not None:
        codes, _ = _pd.factorize(_pd.Series(np.asarray(values, dtype=object)), use_na_sentinel=True)
        if (codes < 0).any():
            row = int(np.flatnonzero(codes < 0)[0])
            raise InvalidValueError(f"{what}: row {row} has no id")
        return codes.astype(np.int64)
    arr = np.asarray(values)
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        row = int(np.flatnonzero(np.isnan(arr))[0])
        raise InvalidValueError(f"{what}: row {row} has no id")
    _, codes = np.unique(arr, return_inverse=True)
    return codes.astype(np.int64).ravel()


def _effect_refs(ref: Any) -> List[Any]:
    """The fixed effects as a list of columns: a name or array is one effect; a list or
    tuple of names or arrays, or a 2-D array (one column each), several."""
    if isinstance(ref, (str, bytes)):
        return [ref]
    if isinstance(ref, (list, tuple)):
        return list(ref)
    if _is_frame(ref):
        return [ref[c] for c in ref.columns]
    arr = np.asarray(ref, dtype=object)
    if arr.ndim == 2:
        return [arr[:, j] for j in range(arr.shape[1])]
    return [ref]


def _with_intercept(x: np.ndarray, names: List[str], what: str) -> Tuple[np.ndarray, List[str]]:
    if x.shape[0] > 0:
        constant = np.all(x == x[:1], axis=0)
        if constant.any():
            j = int(np.flatnonzero(constant)[0])
            raise InvalidConfigError(
                f"column `{names[j]}` of {what} is constant and would duplicate the intercept: "
                "pass intercept=False to use your own constant column"
            )
    return np.column_stack([np.ones(x.shape[0]), x]), [INTERCEPT] + names


def _columns(cols: Optional[Columns]) -> List[str]:
    if cols is None:
        return []
    return [cols] if isinstance(cols, str) else list(cols)


class _Prepared:
    """Arrays ready for the core: label mask, real data, sources, extras."""

    def __init__(self) -> None:
        self.labeled: np.ndarray
        self.y: np.ndarray
        self.x: np.ndarray
        self.names: Optional[List[str]] = None
        self.sources: List[Tuple[str, np.ndarray, np.ndarray]] = []
        self.extras: Dict[str, np.ndarray] = {}
        self.columns: List[Tuple[str, np.ndarray]] = []
        self.frame = False


def _instrument_pairs(ref: Any) -> List[Tuple[str, Any]]:
    """(name, column reference) pairs of ``instruments``: a column name, a list of
    them, or a mapping from names to columns (names or arrays)."""
    if isinstance(ref, str):
        ref = [ref]
    if isinstance(ref, Mapping):
        pairs = [(str(name), value) for name, value in ref.items()]
    else:
        try:
            pairs = [(name, name) for name in ref]
        except TypeError:
            raise InvalidConfigError("instruments: give column names or a mapping from names to columns") from None
        if not all(isinstance(name, str) for name, _ in pairs):
            raise InvalidConfigError("instruments: give column names, or a mapping from names to arrays")
    if not pairs:
        raise InvalidConfigError("instruments: give at least one excluded instrument")
    return pairs


def _prepare(
    data: Any,
    y: Any,
    x: Any,
    labeled: Any,
    sources: Optional[Mapping[str, SourceSpec]],
    model: str,
    intercept: bool,
    extras: Dict[str, Any],
) -> _Prepared:
    out = _Prepared()
    sources = dict(sources or {})
    # Models of the outcome alone (the mean, quantiles) ignore x: a column of ones.
    reads_covariates = _core.model_reads_covariates(model)
    # Fixed effects absorb the intercept: none is added, and a formula's is dropped.
    absorbed = extras.get("fixed_effects") is not None
    intercept = intercept and not absorbed
    if not all(isinstance(name, str) for name in sources):
        raise InvalidConfigError("source names must be strings")
    by_name = data is not None
    out.frame = _is_frame(data) or _is_frame(x)

    def column(ref: Any, what: str) -> Any:
        if not by_name:
            return ref
        if not isinstance(ref, str):
            raise InvalidConfigError(f"{what}: with a data frame, give a column name, got {type(ref).__name__}")
        try:
            return data[ref]
        except (KeyError, IndexError):
            raise InvalidConfigError(f"{what}: the data have no column `{ref}`") from None

    def design(ref: Any, what: str) -> Tuple[np.ndarray, List[str]]:
        if by_name:
            cols = _columns(ref)
            if not cols and reads_covariates and not intercept:
                raise InvalidConfigError(f"{what}: no covariate column and intercept=False")
            arrays = [_vector(column(c, what), f"column `{c}`") for c in cols]
            n = len(out.labeled)
            mat = np.column_stack(arrays) if arrays else np.empty((n, 0))
            names = cols
        else:
            if ref is None:
                mat, names = np.empty((len(out.labeled), 0)), []
            else:
                mat = _matrix(ref, what)
                if _is_frame(ref):
                    names = [str(c) for c in ref.columns]
                elif _pd is not None and isinstance(ref, _pd.Series) and ref.name is not None:
                    names = [str(ref.name)]
                else:
                    names = [f"x{j + 1}" for j in range(mat.shape[1])]
        if mat.shape[0] != len(out.labeled):
            raise LengthMismatchError(
                f"length mismatch: {what} has {mat.shape[0]} rows, the label mask has {len(out.labeled)}"
            )
        if not reads_covariates:
            return np.ones((len(out.labeled), 1)), ["mean"]
        if absorbed and "Intercept" in names:
            keep = [j for j, name in enumerate(names) if name != "Intercept"]
            mat, names = mat[:, keep], [names[j] for j in keep]
        if intercept:
            mat, names = _with_intercept(mat, names, what)
        if mat.shape[1] == 0:
            raise InvalidConfigError(f"{what}: no covariate column and intercept=False")
        return np.ascontiguousarray(mat), names

    out.labeled = _mask(column(labeled, "labeled"))
    out.y = _vector(column(y, "y"), "y")
    out.x, names = design(x, "x")
    out.names = names if reads_covariates else None
    for name, spec in sources.items():
        if isinstance(spec, tuple):
            if len(spec) != 2:
                raise InvalidConfigError(f"source `{name}`: give (y, x) or y alone")
            sy, sx = spec
        else:
            sy, sx = spec, None
        ys = _vector(column(sy, f"source `{name}` y"), f"source `{name}` y")
        if sx is None:
            xs = out.x
        else:
            xs, _ = design(sx, f"source `{name}` x")
        out.sources.append((name, ys, xs))
    for key in ("weights", "labeling_probabilities"):
        if extras.get(key) is not None:
            out.extras[key] = _vector(column(extras[key], key), key)
    if extras.get("clusters") is not None:
        out.extras["clusters"] = _cluster_codes(column(extras["clusters"], "clusters"))
    if extras.get("instruments") is not None:
        for name, ref in _instrument_pairs(extras["instruments"]):
            if isinstance(ref, str) and not by_name:
                raise InvalidConfigError(
                    f"instruments: `{ref}` names a column but no data frame was given; "
                    "give a mapping from names to arrays")
            out.columns.append((name, _vector(column(ref, "instruments"), f"instrument `{name}`")))
    if extras.get("fixed_effects") is not None:
        codes = [_cluster_codes(column(r, "fixed_effects"), "fixed_effects")
                 for r in _effect_refs(extras["fixed_effects"])]
        if not codes:
            raise InvalidConfigError("fixed_effects: give at least one column")
        out.extras["fixed_effects"] = np.ascontiguousarray(np.column_stack(codes), dtype=np.int64)
    return out


class _Formulas:
    """A model given as formulas, translated to the array form: ``y ~ x1 + C(g)`` for the
    real rows and ``gpt_y ~ x1 + C(g)`` (or a column name, sharing the real design) for
    each source, evaluated on ``data`` by formulaic (factors, interactions and
    transformations as in statsmodels' formulas; the intercept comes from the formula,
    ``- 1`` or ``0 +`` drops it). Rows are never dropped: an outcome may be missing on
    unlabeled rows, and a missing covariate is an error from the core."""

    def __init__(self, formula: str, data: Any, sources: Optional[Mapping[str, Any]]) -> None:
        if data is None:
            raise InvalidConfigError("a formula needs data: fit('y ~ x', data=df, ...)")
        try:
            from formulaic import model_matrix
        except ImportError:
            raise InvalidConfigError("formulas need the formulaic package: pip install formulaic") from None
        self.data = data
        self.y, self.x = self._design(model_matrix, formula, "the formula")
        self.sources: Dict[str, Any] = {}
        for name, spec in dict(sources or {}).items():
            if isinstance(spec, str) and "~" in spec:
                self.sources[name] = self._design(model_matrix, spec, f"source `{name}`")
            elif isinstance(spec, str):
                self.sources[name] = (self.column(spec, f"source `{name}`"), self.x)
            else:
                raise InvalidConfigError(f"source `{name}`: with a formula, give a formula or a column name")

    def _design(self, model_matrix: Any, formula: str, what: str) -> Tuple[np.ndarray, Any]:
        try:
            matrices = model_matrix(formula, self.data, na_action="ignore")
        except Exception as err:  # formulaic's parse and evaluation errors
            raise InvalidConfigError(f"{what} `{formula}`: {err}") from None
        lhs = getattr(matrices, "lhs", None)
        if lhs is None or lhs.shape[1] != 1:
            raise InvalidConfigError(f"{what} `{formula}`: give one outcome left of `~`")
        return _vector(lhs.iloc[:, 0], f"{what}'s outcome"), matrices.rhs

    def column(self, ref: Any, what: str) -> Any:
        """A column of the data by name; anything else as it is (an array)."""
        if not isinstance(ref, str):
            return ref
        try:
            return self.data[ref]
        except (KeyError, IndexError):
            raise InvalidConfigError(f"{what}: the data have no column `{ref}`") from None


def _arguments(formula: Any, data: Any, y: Any, x: Any, labeled: Any, sources: Any,
               intercept: bool, extras: Dict[str, Any]) -> Tuple[Any, ...]:
    """(data, y, x, labeled, sources, intercept, extras) in the DataFrame or array form:
    a formula is translated to the array form, a data frame given first is ``data``."""
    if not isinstance(formula, str):
        if formula is not None and data is not None:
            raise InvalidConfigError("give the data once: as the first argument or as data=")
        if y is None:
            raise InvalidConfigError("give the outcome: y=... or a formula 'y ~ x'")
        return (data if formula is None else formula), y, x, labeled, sources, intercept, extras
    if y is not None or x is not None:
        raise InvalidConfigError("with a formula, give neither y= nor x=: the formula names them")
    model = _Formulas(formula, data, sources)

    def resolve(key: str, ref: Any) -> Any:
        if ref is None:
            return None
        if key == "fixed_effects":
            return [model.column(r, key) for r in _effect_refs(ref)]
        if key == "instruments":
            return {name: model.column(r, key) for name, r in _instrument_pairs(ref)}
        return model.column(ref, key)

    extras = {key: resolve(key, ref) for key, ref in extras.items()}
    return None, model.y, model.x, model.column(labeled, "labeled"), model.sources, False, extras


def _run(
    data: Any,
    y: Any,
    x: Any,
    labeled: Any,
    sources: Optional[Mapping[str, SourceSpec]],
    model: str,
    intercept: bool,
    estimators: Sequence[str],
    extras: Dict[str, Any],
    options: Dict[str, Any],
) -> Tuple[_Prepared, list]:
    prepared = _prepare(data, y, x, labeled, sources, model, intercept, extras)
    arrays = dict(labeled=prepared.labeled, y=prepared.y, x=prepared.x,
                  sources=prepared.sources, names=prepared.names, columns=prepared.columns,
                  **prepared.extras)
    options = dict(options, **_iv_options(model, prepared, options.get("exogenous")))
    _check_counts(options)
    pairs = _core.estimate(arrays, dict(model=model, estimators=list(estimators), **options))
    return prepared, pairs


def _check_counts(options: Dict[str, Any]) -> None:
    """``bootstrap`` (None or replicates) and ``seed`` as non-negative integers, so that
    a negative or fractional value is a SynthGmmError naming the setting."""
    for name, limit in (("bootstrap", 2**63), ("seed", 2**64)):
        value = options.get(name)
        if value is None:
            continue
        integral = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
        if not integral or not 0 <= int(value) < limit:
            raise InvalidConfigError(
                f"invalid `{name}`: {value!r}; a non-negative integer is needed")
        options[name] = int(value)


def _iv_options(model: str, prepared: _Prepared, exogenous: Any) -> Dict[str, Any]:
    """The linear IV model's instruments and exogenous covariates, by name: exogenous
    defaults to the intercept when the design has one."""
    instruments = [name for name, _ in prepared.columns]
    if exogenous is None:
        exogenous = ["Intercept"] if model == "iv" and "Intercept" in (prepared.names or []) else []
    elif isinstance(exogenous, str):
        exogenous = [exogenous]
    return dict(instruments=instruments, exogenous=[str(e) for e in exogenous])


def fit(
    formula: Any = None,
    data: Any = None,
    *,
    y: Any = None,
    x: Any = None,
    labeled: Any,
    sources: Optional[Mapping[str, SourceSpec]] = None,
    model: str = "ols",
    quantiles: Optional[Sequence[float]] = None,
    instruments: Any = None,
    exogenous: Optional[Sequence[str]] = None,
    intercept: bool = True,
    estimator: str = "gmm",
    weights: Any = None,
    clusters: Any = None,
    fixed_effects: Any = None,
    labeling_probabilities: Any = None,
    covariance: str = "windmeijer",
    cross_weights: str = "selected",
    weighting: str = "two-step",
    step_one: str = "per-block",
    small_sample: str = "hc2-bm",
    diagnose: bool = False,
    bootstrap: Optional[int] = None,
    seed: int = 0,
    bootstrap_interval: str = "symmetric",
    influence: bool = False,
) -> "Result":
    """Fit one estimator (two-step GMM by default) and return its :class:`Result`.

    Three forms:

    * **formula form** -- ``formula`` is a model formula evaluated on ``data`` by
      formulaic, and each source is a formula or a column name (sharing the real
      design); ``labeled``, ``weights``, ``clusters`` and ``labeling_probabilities``
      are column names or arrays::

          synthgmm.fit("consensus ~ hedge + C(site)", data=df, labeled="is_labeled",
                       sources={"gpt": "gpt_y ~ hedge + C(site)", "synth": "synth_y"})

      Factors (``C(g)``, strings), interactions (``a:b``, ``a*b``) and transformations
      (``np.log(x)``) as in statsmodels' formulas; the intercept is the formula's.

    * **DataFrame form** -- ``data`` is a pandas DataFrame (or any mapping from column
      names to columns) and ``y``, ``x``, ``labeled``, the sources' entries,
      ``weights``, ``clusters`` and ``labeling_probabilities`` are column names::

          synthgmm.fit(df, y="consensus", x=["hedge", "length"], labeled="is_labeled",
                       sources={"gpt": ("gpt_y", ["hedge", "length"]), "synth": "synth_y"})

    * **array form** -- ``data`` is None and the same arguments are arrays with one
      entry per row (T rows in all); ``x`` may be a DataFrame, whose column names
      become the coefficient names.

    Every row t carries the real outcome ``y`` (read only where ``labeled`` is true, so
    NaN is fine elsewhere), the covariates ``x``, and for each source a value for every
    row: ``sources = {name: (y_m, x_m)}``, or ``{name: y_m}`` when the source shares the
    real covariates.

    ``intercept=True`` (the default) puts a constant column named ``"Intercept"`` first
    in every design, as statsmodels' formulas do; a constant column of your own then
    raises, pass ``intercept=False`` to keep it instead. ``model="mean"`` and
    ``model="quantile"`` ignore ``x``.

    Parameters
    ----------
    model : "ols", "logistic", "poisson", "mean", "quantile" or "iv".
    quantiles : with ``model="quantile"``, the levels (each in (0, 1)), e.g.
        ``[0.1, 0.5, 0.9]``: one coefficient per level, named ``q0.1``, ...; the
        bandwidths come from the labeled outcomes (see the guide, "Quantiles").
    instruments : with ``model="iv"`` (linear instrumental variables, the moments of
        two-stage least squares), the excluded instruments, observed on every row and
        shared by the sources: column names (DataFrame and formula forms) or a mapping
        from names to arrays. The result carries the weak-instrument diagnostics of the
        labeled rows (:attr:`Result.weak_instruments`: first-stage F statistics, the
        Anderson-Rubin 95% set), also printed by ``summary()``.
    exogenous : with ``model="iv"``, the covariates of ``x`` that are exogenous (their
        own instruments), by name; by default the intercept alone when there is one.
        The other covariates are the endogenous regressors.
    estimator : one of :data:`ESTIMATORS`, optionally with its sources
        (``"ppi:synth"``; by default the first source(s), GMM uses them all).
    weights : observation (survey / inverse-probability) weights multiplying the moments.
    clusters : cluster labels (any hashable values); cluster-robust covariances with the
        finite-cluster factor G / (G - 1).
    fixed_effects : one fixed effect (a column name or an array of labels) or several
        (a list of them) absorbed from every block by the within transformation: the
        slopes of the regression with one indicator per level, without forming those
        columns ("ols" and linear IV only; set ``intercept=False`` or drop the constant,
        which the effects absorb). Rows are clustered by the first effect unless
        ``clusters`` is given.
    labeling_probabilities : known labeling probabilities pi_t (labeled moments are
        weighted by 1 / pi_t).
    covariance : GMM covariance: "windmeijer" (default, finite-sample corrected),
        "reestimated" (statsmodels' default), "step2" or "sandwich".
    cross_weights : "selected" (default) or "unrestricted" (the paper's two-step GMM).
    weighting : "two-step", "iterated" or "cue".
    step_one : "per-block" (default) or "identity" (the textbook first step).
    small_sample : small-sample form of every estimator's covariance (the GMM's selected
        weights and every baseline): "hc2-bm" (default) scales the labeled real
        residuals by the leverage (HC2) and gives each coefficient Bell-McCaffrey
        degrees of freedom (:attr:`Result.coefficient_df`); "hc2" and "hc3" scale them
        and use t(n - p) quantiles; "hc1" the factor n / (n - p) and t(n - p); "hc0"
        neither (normal quantiles; ppi_py's PPI++).
    diagnose : add per-source diagnostics (C test, residual correlation, ESS gain).
    bootstrap : B, to add bootstrap inference (:attr:`Result.bootstrap`): the whole
        estimator re-run on B resamples (labeled and unlabeled rows drawn separately,
        clusters as units), seeded by ``seed``; ``bootstrap_interval`` is
        "symmetric" (default, symmetric bootstrap-t), "studentized" or "percentile".
    influence : add the estimate's influence on each row (each cluster with
        ``clusters``), :attr:`Result.influence`: theta_hat - theta is to first order
        the sum of its rows, so two fits on the same rows have the joint covariance
        ``a.influence.T @ b.influence``. The GMM and real-only give it (in memory);
        :func:`fit_outcomes` uses it for inference across outcomes.

    Raises
    ------
    SynthGmmError
        (a ``ValueError``) or one of its subclasses, with the library's message.
    """
    if not isinstance(estimator, str):
        raise InvalidConfigError("estimator must be one name; use compare() for several")
    options = dict(quantiles=quantiles, covariance=covariance, cross_weights=cross_weights,
                   weighting=weighting, step_one=step_one, small_sample=small_sample,
                   diagnose=diagnose, exogenous=exogenous,
                   bootstrap=bootstrap, seed=seed, bootstrap_interval=bootstrap_interval,
                   influence=influence)
    extras = dict(weights=weights, clusters=clusters, fixed_effects=fixed_effects,
                  labeling_probabilities=labeling_probabilities, instruments=instruments)
    data, y, x, labeled, sources, intercept, extras = _arguments(
        formula, data, y, x, labeled, sources, intercept, extras)
    prepared, pairs = _run(data, y, x, labeled, sources, model, intercept, [estimator],
                           extras, options)
    (_, outcome), = pairs
    if isinstance(outcome, BaseException):
        raise outcome
    return Result(outcome, frame=prepared.frame)


def fit_sql(
    run: Callable[[str], Sequence[Sequence[Any]]],
    table: Optional[str] = None,
    *,
    subquery: Optional[str] = None,
    alias: str = "rows",
    labeled: str,
    y: str,
    x: Sequence[str],
    sources: Mapping[str, Tuple[str, Sequence[str]]],
    model: str = "ols",
    boolean_label: bool = False,
    weights: Optional[str] = None,
    labeling_probabilities: Optional[str] = None,
    clusters: Optional[str] = None,
    instruments: Optional[Sequence[str]] = None,
    exogenous: Optional[Sequence[str]] = None,
    estimator: str = "gmm",
    covariance: str = "windmeijer",
    cross_weights: str = "selected",
    weighting: str = "two-step",
    step_one: str = "per-block",
    small_sample: str = "hc2-bm",
    diagnose: bool = False,
) -> "Result":
    """Fit where the rows live: every pass over all rows is one generated ``SELECT`` of
    sums that ``run`` executes on your connection, so only the labeled rows and a few
    thousand sums reach Python.

    ``run(query)`` runs one query and returns its rows, each a sequence of numbers
    (``None`` for SQL NULL): with DuckDB ``lambda q: con.execute(q).fetchall()``, with
    sqlite3 ``lambda q: con.execute(q).fetchall()`` (least squares; the logistic and
    Poisson links need SQLite's math functions). The SQL uses ``CAST(... AS DOUBLE
    PRECISION)``, ``CASE``, ``EXP``, ``COUNT`` and ``SUM`` and double-quoted names::

        con.execute("CREATE TABLE runs AS SELECT * FROM df")
        res = synthgmm.fit_sql(lambda q: con.execute(q).fetchall(), "runs",
                               labeled="is_labeled", y="consensus", x=["one", "hedge"],
                               sources={"gpt": ("gpt_y", ["one", "hedge"])},
                               model="logistic")

    ``table`` is a table or view (``schema.table`` is quoted part by part); rows from a
    join come through ``subquery`` (one ``SELECT`` without its parentheses, refused when
    it holds ``;``, a comment or a backslash) under ``alias``. Column names are quoted
    identifiers, never SQL text. ``x`` names the covariates as they are in the table
    (a column of ones for an intercept: no intercept is added). Each source is
    ``name: (outcome, covariates)`` on every row. The label column is 1 on labeled rows
    (``boolean_label=True`` tests a boolean column, as PostgreSQL needs); the real
    outcome is read on labeled rows only. ``weights`` names a column of observation
    (survey) weights, positive and finite on every row (checked by one query), which
    multiply every row's moments as :func:`fit`'s ``weights`` do;
    ``labeling_probabilities`` a column of known labeling probabilities pi_t in (0, 1],
    read on the labeled rows, which divide the labeled rows' moments as :func:`fit`'s
    ``labeling_probabilities`` do. ``clusters`` names a column of cluster identifiers
    (any type, no nulls: counted by one query) for cluster-robust inference as
    :func:`fit`'s ``clusters`` give it: each pass sums the moments by cluster
    (``GROUP BY``), and the labeled rows' clusters are read as ranks (``DENSE_RANK()``,
    a window function: SQLite 3.25 or later).

    ``model`` is "ols", "logistic", "poisson" or "iv" (linear instrumental variables:
    ``instruments`` names the excluded instrument columns, read on every row and for
    every block under those names, and ``exogenous`` the covariates of ``x`` that
    instrument themselves, e.g. the column of ones; no intercept is assumed);
    ``estimator`` and the settings as in
    :func:`fit` (the GMM runs every setting here, PPI++ and PPI++Synth too without
    ``weights`` or ``clusters``; other estimators that read every row raise
    :class:`NeedsInMemoryError`). A query that fails raises
    :class:`ReadError` with the exception ``run`` raised.
    """
    if (table is None) == (subquery is None):
        raise InvalidConfigError("give either a table's name or a subquery")
    spec = dict(labeled=str(labeled), y=str(y), x=[str(c) for c in x],
                sources=[(str(name), str(out), [str(c) for c in cov])
                         for name, (out, cov) in sources.items()],
                boolean_label=bool(boolean_label), run=run)
    if weights is not None:
        spec["weights"] = str(weights)
    if labeling_probabilities is not None:
        spec["labeling_probabilities"] = str(labeling_probabilities)
    if clusters is not None:
        spec["clusters"] = str(clusters)
    if table is not None:
        spec["table"] = str(table)
    else:
        spec["subquery"] = (str(subquery), str(alias))
    request = dict(model=model, estimators=[estimator], covariance=covariance,
                   cross_weights=cross_weights, weighting=weighting, step_one=step_one,
                   small_sample=small_sample, diagnose=diagnose)
    if model == "iv":
        if not instruments:
            raise InvalidConfigError("instruments: model='iv' needs the excluded instrument columns")
        request["instruments"] = [str(c) for c in instruments]
        request["exogenous"] = [str(c) for c in ([exogenous] if isinstance(exogenous, str) else exogenous or [])]
    elif instruments or exogenous:
        raise InvalidConfigError("instruments and exogenous apply to model='iv'")
    (_, outcome), = _core.estimate_sql(spec, request)
    if isinstance(outcome, BaseException):
        raise outcome
    return Result(outcome)


def plan(
    formula: Any = None,
    data: Any = None,
    *,
    y: Any = None,
    x: Any = None,
    labeled: Any,
    sources: Mapping[str, SourceSpec],
    model: str = "ols",
    quantiles: Optional[Sequence[float]] = None,
    intercept: bool = True,
    covariance: str = "windmeijer",
    cross_weights: str = "selected",
    weighting: str = "two-step",
    step_one: str = "per-block",
    small_sample: str = "hc2-bm",
) -> "Plan":
    """A planning model from pilot data (arguments as :func:`fit`, the formula form
    included).

    From the pilot's moment covariances and Jacobians it predicts the standard error of
    every coefficient for another design, n' labeled of T' rows, for GMM, real-only and
    PPI++ -- under labeling at random, with the sources produced the same way at scale::

        p = synthgmm.plan(pilot, y="y", x=["hedge"], labeled="labeled", sources={"llm": "llm_y"})
        p.se(labeled=500, rows=20_000)                    # GMM
        p.labels_for("hedge", half_width=0.05, rows=20_000)
        p.cheapest("hedge", half_width=0.05, label_cost=1.0, row_cost=0.01)

    Planning needs at least one source and independent rows drawn at random (no
    weights, clusters or labeling probabilities).
    """
    data, y, x, labeled, sources, intercept, _ = _arguments(
        formula, data, y, x, labeled, sources, intercept, {})
    prepared = _prepare(data, y, x, labeled, sources, model, intercept, {})
    core = _core.plan(
        dict(labeled=prepared.labeled, y=prepared.y, x=prepared.x, sources=prepared.sources,
             names=prepared.names),
        dict(model=model, quantiles=quantiles, covariance=covariance,
             cross_weights=cross_weights, weighting=weighting, step_one=step_one,
             small_sample=small_sample),
    )
    return Plan(core, frame=prepared.frame)


def design(
    formula: Any = None,
    data: Any = None,
    *,
    y: Any = None,
    x: Any = None,
    labeled: Any,
    sources: Mapping[str, SourceSpec],
    budget: float,
    design: str = "active",
    coefficient: Any = None,
    min_probability: Optional[float] = None,
    strata: Any = None,
    n_strata: int = 5,
    model: str = "ols",
    quantiles: Optional[Sequence[float]] = None,
    intercept: bool = True,
) -> "Design":
    """Which rows to send to the annotators (arguments as :func:`fit`, the formula form
    included).

    ``design`` is ``"uniform"``, ``"stratified"`` (Neyman's allocation from the pilot
    within ``strata`` -- ids, or a column name with ``data`` -- or within ``n_strata``
    quantile groups of the forecast) or ``"active"`` (row by row, by the forecast size
    of the row's influence). The pilot is the rows ``labeled`` marks (labeled at
    random); ``budget`` new labels are spent on the others. ``coefficient`` (a name or
    index) is the target; by default every coefficient::

        d = synthgmm.design(df, y="y", x=["hedge"], labeled="labeled",
                            sources={"llm": "llm_y"}, budget=200)
        rows = d.draw(seed=1)                  # indices of the rows to label now
        df["pi"] = d.probabilities             # then fit(..., labeling_probabilities="pi")

    Without a labeled row only ``"uniform"`` and ``"stratified"`` with ``strata`` apply.
    """
    data, y, x, labeled, sources, intercept, extras = _arguments(
        formula, data, y, x, labeled, sources, intercept, {"strata": strata})
    strata = extras["strata"]
    prepared = _prepare(data, y, x, labeled, sources, model, intercept, {})
    codes = None
    if strata is not None:
        ids = data[strata] if isinstance(strata, str) and data is not None else strata
        _, inverse = np.unique(np.asarray(ids).astype(str), return_inverse=True)
        codes = [int(v) for v in inverse]
    names = prepared.names or ["mean"]
    index = None
    if coefficient is not None:
        if isinstance(coefficient, str):
            if coefficient not in names:
                raise InvalidConfigError(f"no coefficient named `{coefficient}`; have: {', '.join(names)}")
            index = names.index(coefficient)
        else:
            index = int(coefficient)
    core = _core.design(
        dict(labeled=prepared.labeled, y=prepared.y, x=prepared.x, sources=prepared.sources,
             names=prepared.names),
        dict(budget=float(budget), design=design, model=model, quantiles=quantiles,
             coefficient=index, min_probability=min_probability, strata=codes,
             n_strata=n_strata),
    )
    return Design(core, frame=prepared.frame)


class Design:
    """A labeling design (see :func:`design`)."""

    def __init__(self, core: "_core.LabelingDesign", frame: bool = False) -> None:
        self._design = core
        self._frame = frame and _pd is not None

    @property
    def probabilities(self) -> np.ndarray:
        """Every row's labeling probability over both phases: the
        ``labeling_probabilities`` to fit with."""
        return self._design.probabilities

    @property
    def phase_two(self) -> np.ndarray:
        """The probabilities of this round's draw (zero on rows already labeled)."""
        return self._design.phase_two

    @property
    def names(self) -> Optional[List[str]]:
        return self._design.names

    @property
    def notes(self) -> List[str]:
        return self._design.notes

    def draw(self, seed: int = 0) -> np.ndarray:
        """The rows to label now (sorted indices); the same seed draws the same rows."""
        return np.asarray(self._design.draw(seed), dtype=np.int64)

    def _vec(self, values: Optional[np.ndarray], name: str):
        if values is None or not self._frame:
            return values
        return _pd.Series(values, index=self.names, name=name)

    def se(self):
        """Predicted standard errors after both phases (None without a pilot)."""
        return self._vec(self._design.se(), "se")

    def uniform_se(self):
        """The same with the budget's labels drawn at random."""
        return self._vec(self._design.uniform_se(), "uniform_se")

    def labels_for(self, coef, half_width: float, alpha: float = 0.05) -> Optional[int]:
        """The fewest new labels, so allocated, for a (1 - alpha) half-width."""
        index = self.names.index(coef) if isinstance(coef, str) and self.names else coef
        return self._design.labels_for(int(index), float(half_width), float(alpha))


class Plan:
    """Predicted standard errors at other designs (see :func:`plan`).

    ``estimator`` is ``"gmm"`` (default), ``"real-only"``, or ``"ppi"`` /
    ``"ppi:SOURCE"`` (PPI++ with the first or the named source). ``coef`` is a
    coefficient name or index.
    """

    def __init__(self, core: "_core.Plan", frame: bool = False) -> None:
        self._plan = core
        self._frame = frame and _pd is not None

    @property
    def names(self) -> List[str]:
        return self._plan.names

    @property
    def sources(self) -> List[str]:
        return self._plan.sources

    @property
    def pilot(self) -> Tuple[int, int]:
        """The pilot's (labeled rows, rows)."""
        return self._plan.pilot

    def _vec(self, values: np.ndarray, name: str):
        if not self._frame:
            return values
        return _pd.Series(values, index=self.names, name=name)

    def se(self, labeled: int, rows: int, estimator: str = "gmm"):
        """Predicted standard errors with ``labeled`` of ``rows`` rows."""
        return self._vec(self._plan.se(estimator, labeled, rows), "se")

    def effective_labels(self, labeled: int, rows: int, estimator: str = "gmm"):
        """How many labels the design is worth: the labeled rows real-only would need
        for the same standard errors."""
        return self._vec(self._plan.effective_labels(estimator, labeled, rows), "effective_labels")

    def labels_for(self, coef, half_width: float, rows: int, estimator: str = "gmm",
                   alpha: float = 0.05) -> Optional[int]:
        """The fewest labels whose (1 - alpha) interval for ``coef`` has at most this
        half-width with ``rows`` rows; None when no number of labels reaches it."""
        return self._plan.labels_for(estimator, coef, half_width, alpha, rows)

    def cheapest(self, coef, half_width: float, label_cost: float, row_cost: float,
                 estimator: str = "gmm", alpha: float = 0.05) -> Dict[str, float]:
        """The least costly design (labeled, rows) reaching the half-width, with its
        cost (label_cost per label plus row_cost per row, labeled rows included)."""
        return self._plan.cheapest(estimator, coef, (half_width, alpha), (label_cost, row_cost))

    def best_for_budget(self, coef, budget: float, label_cost: float, row_cost: float,
                        estimator: str = "gmm", alpha: float = 0.05) -> Dict[str, float]:
        """The design with the narrowest interval for ``coef`` that ``budget`` buys."""
        return self._plan.best_for_budget(estimator, coef, (budget, alpha), (label_cost, row_cost))

    def curve(self, coef, labels: Sequence[int], rows: int,
              estimators: Optional[Sequence[str]] = None, alpha: float = 0.05):
        """Predicted (1 - alpha) half-widths of ``coef`` against the number of labels,
        one row per estimator and label count (a DataFrame with pandas, else a dict of
        columns): the data of a planning figure."""
        from statistics import NormalDist

        z = NormalDist().inv_cdf(1 - alpha / 2)
        j = coef if isinstance(coef, int) else self.names.index(coef)
        if estimators is None:
            estimators = ["real-only"] + [f"ppi:{s}" for s in self.sources] + ["gmm"]
        table: Dict[str, list] = {"estimator": [], "labeled": [], "se": [], "half_width": []}
        for est in estimators:
            for n in labels:
                se = float(self._plan.se(est, int(n), rows)[j])
                table["estimator"].append(est)
                table["labeled"].append(int(n))
                table["se"].append(se)
                table["half_width"].append(z * se)
        return _pd.DataFrame(table) if _pd is not None else table

    def __repr__(self) -> str:
        return repr(self._plan)


def _all_estimators(n_sources: int) -> List[str]:
    names = ["real-only"]
    if n_sources >= 1:
        names += ["naive", "ppi", "dsl", "reppi"]
    if n_sources >= 2:
        names.append("ppi-synth")
    return names + ["gmm"]


def compare(
    formula: Any = None,
    data: Any = None,
    *,
    y: Any = None,
    x: Any = None,
    labeled: Any,
    sources: Optional[Mapping[str, SourceSpec]] = None,
    model: str = "ols",
    quantiles: Optional[Sequence[float]] = None,
    instruments: Any = None,
    exogenous: Optional[Sequence[str]] = None,
    intercept: bool = True,
    estimators: Union[str, Sequence[str]] = "all",
    alpha: float = 0.05,
    weights: Any = None,
    clusters: Any = None,
    fixed_effects: Any = None,
    labeling_probabilities: Any = None,
    covariance: str = "windmeijer",
    cross_weights: str = "selected",
    weighting: str = "two-step",
    step_one: str = "per-block",
    small_sample: str = "hc2-bm",
):
    """Run several estimators on the same data; one tidy row per estimator and term.

    The same estimates side by side -- coefficients as rows, estimators as columns,
    standard errors in parentheses, labeled rows, all rows and each estimator's
    effective n against real-only at the foot, as statsmodels' ``summary_col`` -- are
    ``.attrs["side_by_side"]``, a text that prints as itself (see :func:`side_by_side`).

    Arguments as :func:`fit` (the formula form included); ``estimators`` is ``"all"`` (real-only, naive pooling,
    PPI++, DSL, RePPI, PPI++Synth with two or more sources, and GMM) or a list of names
    from :data:`ESTIMATORS`. Columns: estimator, term, estimate, std_error, z, p_value,
    ci_lower, ci_upper (level 1 - alpha). Estimators that cannot run on these data are
    listed with the reason in ``.attrs["not_run"]`` (a dict). Without pandas the result
    is a dict of columns with a ``"not_run"`` entry.
    """
    n_sources = len(sources or {})
    if isinstance(estimators, str):
        estimators = _all_estimators(n_sources) if estimators == "all" else [estimators]
    options = dict(quantiles=quantiles, covariance=covariance, cross_weights=cross_weights,
                   weighting=weighting, step_one=step_one, small_sample=small_sample,
                   exogenous=exogenous)
    extras = dict(weights=weights, clusters=clusters, fixed_effects=fixed_effects,
                  labeling_probabilities=labeling_probabilities, instruments=instruments)
    data, y, x, labeled, sources, intercept, extras = _arguments(
        formula, data, y, x, labeled, sources, intercept, extras)
    _, pairs = _run(data, y, x, labeled, sources, model, intercept, estimators, extras, options)
    keys = ["estimator", "term", "estimate", "std_error", "statistic", "df", "p_value",
            "ci_lower", "ci_upper"]
    table: Dict[str, list] = {k: [] for k in keys}
    not_run: Dict[str, str] = {}
    ran = [(name, outcome) for name, outcome in pairs if not isinstance(outcome, BaseException)]
    names = [name for name, _ in ran]
    reference = names.index("Real-only") if "Real-only" in names else None
    wide = Summary(_core.side_by_side([outcome for _, outcome in ran], reference))
    for name, outcome in pairs:
        if isinstance(outcome, BaseException):
            not_run[name] = str(outcome)
            continue
        ci = outcome.conf_int(alpha)
        cols = [outcome.names, outcome.params, outcome.bse, outcome.tvalues,
                _reference_df(outcome), outcome.pvalues(), ci[:, 0], ci[:, 1]]
        table["estimator"] += [name] * len(outcome.names)
        for key, values in zip(keys[1:], cols):
            table[key] += list(values)
    if _pd is None:
        table["not_run"] = not_run  # type: ignore[assignment]
        table["side_by_side"] = wide  # type: ignore[assignment]
        return table
    frame = _pd.DataFrame(table)
    frame.attrs["not_run"] = not_run
    frame.attrs["side_by_side"] = wide
    return frame


def side_by_side(*args: Any, **kwargs: Any) -> Summary:
    """The estimators of :func:`compare` (same arguments) as one table: coefficients as
    rows, estimators as columns, standard errors in parentheses, and at the foot the
    labeled rows, all rows and each estimator's effective n -- the labeled rows
    real-only would need for the same variance, n * median_j(V_real,jj / V_jj).
    Estimators that cannot run are left out (``compare(...).attrs["not_run"]`` says
    why)."""
    table = compare(*args, **kwargs)
    return table["side_by_side"] if isinstance(table, dict) else table.attrs["side_by_side"]


class BootstrapResult:
    """The bootstrap of a :class:`Result` (``fit(..., bootstrap=B)``)."""

    def __init__(self, result: "Result") -> None:
        self._result = result
        fit = result._fit
        self.replicates, self.n_failed, self.seed, self.interval = fit.bootstrap_info

    @property
    def draws(self):
        """The replicates' estimates theta*_b (B rows; a DataFrame with pandas)."""
        draws = self._result._fit.bootstrap_draws
        if not self._result._frame:
            return draws
        return _pd.DataFrame(draws, columns=self._result.names)

    @property
    def bse(self):
        """Bootstrap standard errors (standard deviations of the draws)."""
        se, _, _ = self._result._fit.bootstrap_inference()
        return self._result._vec(se, "bse")

    @property
    def pvalues(self):
        """Symmetric bootstrap-t p-values (1 + #{|t*| >= |t|}) / (B + 1)."""
        _, p, _ = self._result._fit.bootstrap_inference()
        return self._result._vec(p, "pvalues")

    def conf_int(self, alpha: float = 0.05, interval: Optional[str] = None):
        """Bootstrap intervals at level 1 - alpha ("symmetric", "studentized" or
        "percentile"; by default the one asked for)."""
        _, _, ci = self._result._fit.bootstrap_inference(alpha, interval)
        if not self._result._frame:
            return ci
        return _pd.DataFrame(ci, index=self._result.names, columns=["lower", "upper"])

    def summary(self, alpha: float = 0.05) -> Summary:
        """The bootstrap table."""
        return Summary(self._result._fit.bootstrap_table(alpha))


def fit_outcomes(
    data: Any = None,
    *,
    outcomes: Mapping[str, Any],
    x: Any = None,
    labeled: Any,
    bootstrap: Optional[int] = None,
    seed: int = 0,
    **options: Any,
) -> "Outcomes":
    """Several outcomes on the same rows (e.g. five annotation categories), each fitted
    as by :func:`fit`, with inference across all their coefficients.

    ``outcomes`` maps each outcome's name to its real outcome (a column name or an
    array) or to ``(y, sources)`` with ``sources`` as in :func:`fit` (each source's
    prediction of that outcome). Every other argument is :func:`fit`'s and applies to
    every outcome. Simultaneous intervals and single-step p-values across outcomes come
    from the joint covariance of all outcomes' estimates, from their influence on each
    row (``Outcomes.simultaneous_from == "influence"``); for estimators that give no
    influence, from each outcome's covariance combined across outcomes by the Gaussian
    correlation inequality (``"bound"``: valid whatever the outcomes' dependence,
    conservative as far as they are dependent); with ``bootstrap=B`` every outcome's
    estimator is re-run on the same B resamples (one ``seed``) and they come from the
    bootstrap max-|t| (``"bootstrap"``). Holm, Bonferroni and Benjamini-Hochberg need
    only the p-values.

    >>> import numpy as np, synthgmm
    >>> rng = np.random.default_rng(1)
    >>> t, x = 600, rng.normal(size=600)
    >>> labeled = np.arange(t) % 4 == 0
    >>> ys = {k: b * x + rng.normal(size=t) for k, b in (("a", 1.0), ("b", 0.0))}
    >>> res = synthgmm.fit_outcomes(
    ...     x=x, labeled=labeled, bootstrap=199, seed=1,
    ...     outcomes={k: (np.where(labeled, y, np.nan), {"proxy": y + rng.normal(size=t)})
    ...               for k, y in ys.items()})
    >>> ci = res.conf_int(simultaneous=True)
    >>> bool(ci["lower"][("a", "x1")] < 1.0 < ci["upper"][("a", "x1")])
    True
    """
    if not outcomes:
        raise InvalidConfigError("outcomes: give at least one")
    results = {}
    for name, spec in outcomes.items():
        y, sources = spec if isinstance(spec, tuple) else (spec, None)
        results[str(name)] = fit(data, y=y, x=x, labeled=labeled, sources=sources,
                                 bootstrap=bootstrap, seed=seed,
                                 influence=bootstrap is None, **options)
    return Outcomes(results)


class Outcomes:
    """Fits of several outcomes on the same rows (see :func:`fit_outcomes`)."""

    def __init__(self, results: Dict[str, "Result"]) -> None:
        self.results = results

    def _fits(self) -> list:
        return [r._fit for r in self.results.values()]

    def _index(self) -> List[Tuple[str, str]]:
        return [(name, term) for name, r in self.results.items() for term in r.names]

    def _frame(self, columns: Dict[str, np.ndarray]):
        index = self._index()
        if _pd is None:
            return {"index": index, **columns}
        return _pd.DataFrame(columns, index=_pd.MultiIndex.from_tuples(index, names=["outcome", "term"]))

    def adjusted_pvalues(self, method: str = "holm"):
        """p-values adjusted for testing every coefficient of every outcome: "holm",
        "bonferroni", "bh" (Benjamini-Hochberg) or "single-step" (max-|t|, see
        :func:`fit_outcomes`)."""
        adjusted = _core.outcomes_adjusted_pvalues(self._fits(), method)
        return self._frame({"pvalue": np.concatenate(adjusted)})

    @property
    def simultaneous_from(self) -> str:
        """Where the simultaneous inference takes the outcomes' dependence from:
        "influence", "bound" or "bootstrap" (see :func:`fit_outcomes`)."""
        return _core.outcomes_simultaneous_from(self._fits())

    def simultaneous_critical_value(self, alpha: float = 0.05) -> float:
        """c of the simultaneous intervals params +/- c * bse (see :func:`fit_outcomes`)."""
        return _core.outcomes_simultaneous_conf_int(self._fits(), alpha)[1]

    def conf_int(self, alpha: float = 0.05, simultaneous: bool = True):
        """Intervals for every coefficient of every outcome: simultaneous (covering all
        together with probability at least 1 - alpha) or each its own."""
        if simultaneous:
            parts, _ = _core.outcomes_simultaneous_conf_int(self._fits(), alpha)
        else:
            parts = [r._fit.conf_int(alpha) for r in self.results.values()]
        ci = np.vstack(parts)
        return self._frame({"lower": ci[:, 0], "upper": ci[:, 1]})

    def __repr__(self) -> str:
        return _core.outcomes_summary(self._fits(), list(self.results))


class Result:
    """One estimator's fit, in statsmodels' vocabulary.

    Coefficient-indexed values are pandas Series / DataFrames when the data came as a
    DataFrame, numpy arrays otherwise. GMM-only attributes (``j_test``,
    ``effective_n``, ``real_only_bse``, ``diagnostics``) are None for the baselines.
    """

    def __init__(self, core: "_core.Fit", frame: bool = False) -> None:
        self._fit = core
        self._frame = frame and _pd is not None

    def _vec(self, values: Optional[np.ndarray], name: Optional[str] = None):
        if values is None or not self._frame:
            return values
        return _pd.Series(values, index=self.names, name=name)

    @property
    def estimator(self) -> str:
        """Display name, e.g. ``"GMM (gpt + synth)"``."""
        return self._fit.estimator

    @property
    def model(self) -> str:
        return self._fit.model

    @property
    def names(self) -> List[str]:
        """Coefficient names."""
        return self._fit.names

    @property
    def params(self):
        """Estimates of theta."""
        return self._vec(self._fit.params, "params")

    @property
    def bse(self):
        """Standard errors."""
        return self._vec(self._fit.bse, "bse")

    @property
    def tvalues(self):
        """Statistics theta / se (z, or t when ``use_t``)."""
        return self._vec(self._fit.tvalues, "tvalues")

    @property
    def use_t(self) -> bool:
        """Whether p-values and intervals use Student-t quantiles (the small-sample
        default of the selected GMM weights) rather than normal ones."""
        return self._fit.use_t

    @property
    def df_resid(self) -> Optional[float]:
        """Degrees of freedom of the t quantiles (n - p), or None for normal inference."""
        return self._fit.df_resid

    @property
    def coefficient_df(self):
        """Each coefficient's own degrees of freedom (Bell-McCaffrey, the default
        small-sample form "hc2-bm"), which its p-values and intervals use; None when
        every coefficient uses ``df_resid``."""
        dof = self._fit.coefficient_df
        return None if dof is None else self._vec(dof, "df")

    @property
    def pvalues(self):
        """Two-sided p-values of theta_j = 0."""
        return self._vec(self._fit.pvalues(), "pvalues")

    def pvalues_one_sided(self, alternative: str = "larger"):
        """One-sided p-values of theta_j = 0 against "larger" (theta_j > 0) or "smaller"."""
        return self._vec(self._fit.pvalues(alternative), "pvalues")

    def adjusted_pvalues(self, method: str = "holm"):
        """Two-sided p-values adjusted for testing every coefficient: "bonferroni",
        "holm" (the family-wise error rate), "bh" (Benjamini-Hochberg, the false
        discovery rate) or "single-step" (max-|t| from the joint distribution of the
        t statistics, as R's multcomp). The first three equal statsmodels'
        ``multipletests`` on ``pvalues``."""
        return self._vec(self._fit.adjusted_pvalues(method), "pvalues")

    def simultaneous_critical_value(self, alpha: float = 0.05) -> float:
        """The critical value c of the simultaneous intervals theta_j +/- c se_j: the
        1 - alpha quantile of max_j |T_j| (seeded Monte Carlo)."""
        return self._fit.simultaneous_conf_int(alpha)[1]

    def conf_int(self, alpha: float = 0.05, alternative: str = "two-sided",
                 simultaneous: bool = False):
        """Intervals at level 1 - alpha (normal, or t with ``coefficient_df`` or
        ``df_resid`` degrees of freedom when ``use_t``): rows are coefficients, columns lower and upper; ``alternative="larger"`` / ``"smaller"`` gives one-sided intervals.
        ``simultaneous=True`` gives two-sided intervals that cover every coefficient
        together with probability 1 - alpha (max-|t|)."""
        if simultaneous:
            if alternative != "two-sided":
                raise InvalidConfigError("simultaneous intervals are two-sided")
            ci = self._fit.simultaneous_conf_int(alpha)[0]
        else:
            ci = self._fit.conf_int(alpha, alternative)
        if not self._frame:
            return ci
        return _pd.DataFrame(ci, index=self.names, columns=["lower", "upper"])

    def cov_params(self):
        """Var(theta-hat)."""
        cov = self._fit.cov_params()
        if not self._frame:
            return cov
        return _pd.DataFrame(cov, index=self.names, columns=self.names)

    def wald_test(self, r_matrix, q=None) -> WaldTest:
        """Wald test of R theta = q (q defaults to 0).

        ``r_matrix`` is a q x p array, or a list of coefficient names to test jointly
        equal to zero: ``res.wald_test(["x1", "x2"])``.
        """
        if isinstance(r_matrix, (list, tuple)) and r_matrix and all(isinstance(v, str) for v in r_matrix):
            missing = [v for v in r_matrix if v not in self.names]
            if missing:
                raise InvalidConfigError(f"no coefficient named {missing[0]!r}; have {self.names}")
            r = np.zeros((len(r_matrix), len(self.names)))
            for i, v in enumerate(r_matrix):
                r[i, self.names.index(v)] = 1.0
        else:
            r = np.atleast_2d(np.asarray(r_matrix, dtype=np.float64))
        q = np.zeros(r.shape[0]) if q is None else np.atleast_1d(np.asarray(q, dtype=np.float64))
        return WaldTest(*self._fit.wald_test(np.ascontiguousarray(r), np.ascontiguousarray(q)))

    @property
    def j_test(self) -> Optional[JTest]:
        """Hansen's J test of the over-identifying restrictions (GMM only)."""
        j = self._fit.j_test
        return None if j is None else JTest(*j)

    @property
    def effective_n(self):
        """Labeled rows real-only would need for the same variance, per coefficient
        (GMM only)."""
        return self._vec(self._fit.effective_n, "effective_n")

    @property
    def real_only_bse(self):
        """Real-only standard errors on the same labeled rows (GMM only)."""
        return self._vec(self._fit.real_only_bse, "real_only_bse")

    @property
    def nobs(self) -> int:
        """Rows T (labeled and unlabeled)."""
        return self._fit.n_rows

    @property
    def n_labeled(self) -> int:
        return self._fit.n_labeled

    @property
    def notes(self) -> List[str]:
        return self._fit.notes

    @property
    def converged(self) -> bool:
        return self._fit.converged

    @property
    def sources(self) -> List[str]:
        """Sources the GMM used (empty for baselines)."""
        return self._fit.sources

    @property
    def covariance(self) -> Optional[str]:
        """Name of the GMM covariance."""
        return self._fit.covariance

    @property
    def influence(self) -> Optional[np.ndarray]:
        """The estimate's influence on each row (each cluster), units x coefficients,
        of a fit with ``influence=True``; else None (see :func:`fit`)."""
        return self._fit.influence

    @property
    def bootstrap(self) -> Optional["BootstrapResult"]:
        """Bootstrap inference of a fit with ``bootstrap=B``, else None."""
        if self._fit.bootstrap_info is None:
            return None
        return BootstrapResult(self)

    @property
    def diagnostics(self):
        """Per-source diagnostics of a fit with ``diagnose=True``: source, c_stat, c_df,
        c_pvalue, correlation, ess_gain (a DataFrame with pandas, else a list of dicts)."""
        rows = self._fit.diagnostics
        if rows is None or _pd is None:
            return rows
        return _pd.DataFrame(rows).set_index("source")

    @property
    def weak_instruments(self) -> Optional[Dict[str, Any]]:
        """With ``model="iv"``, the weak-instrument diagnostics of the labeled rows, else
        None: ``first_stage``, one dict per endogenous regressor (endogenous, f, f_df,
        f_pvalue: the homoskedastic F of the excluded instruments; robust_f,
        robust_f_pvalue: the heteroskedasticity-robust (Kleibergen-Paap) F; partial_r2),
        and ``anderson_rubin_set`` at level 1 - ``alpha`` (0.05) with one endogenous
        regressor: ``kind`` ("interval", "outside" for two rays, "everything" or
        "empty") and ``bounds``. An F below 10 warns of weak instruments."""
        return self._fit.weak_instruments

    def summary(self, alpha: float = 0.05) -> Summary:
        """The statsmodels-like text summary."""
        return Summary(self._fit.summary(alpha))

    def to_frame(self, alpha: float = 0.05):
        """One row per coefficient: estimate, std_error, statistic (z or t), df (the t
        quantiles' degrees of freedom, NaN for normal ones), p_value, ci_lower, ci_upper."""
        if _pd is None:
            raise ImportError("to_frame() needs pandas: pip install pandas")
        ci = self._fit.conf_int(alpha, "two-sided")
        return _pd.DataFrame(
            {
                "estimate": self._fit.params,
                "std_error": self._fit.bse,
                "statistic": self._fit.tvalues,
                "df": _reference_df(self._fit),
                "p_value": self._fit.pvalues(),
                "ci_lower": ci[:, 0],
                "ci_upper": ci[:, 1],
            },
            index=_pd.Index(self.names, name="term"),
        )

    def __repr__(self) -> str:
        return repr(self._fit)

    def __str__(self) -> str:
        return str(self.summary())
