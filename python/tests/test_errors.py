"""Bad input raises the matching SynthGmmError subclass (a ValueError) with the
library's message; nothing panics across the boundary."""

import numpy as np
import pytest

import synthgmm


def design(t=200, n=40, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(t, 2))
    y = 1 + x @ np.array([0.5, -1.0]) + rng.normal(size=t)
    labeled = np.zeros(t, dtype=bool)
    labeled[:n] = True
    proxy = y + rng.normal(size=t)
    return dict(y=np.where(labeled, y, np.nan), x=x, labeled=labeled, sources={"proxy": proxy})


def test_hierarchy():
    assert issubclass(synthgmm.SynthGmmError, ValueError)
    for name in synthgmm.__all__:
        if name.endswith("Error") and name != "SynthGmmError":
            assert issubclass(getattr(synthgmm, name), synthgmm.SynthGmmError), name


def test_length_mismatch():
    d = design()
    d["sources"] = {"proxy": d["sources"]["proxy"][:-1]}
    with pytest.raises(synthgmm.LengthMismatchError, match="length mismatch"):
        synthgmm.fit(**d)


def test_non_finite_covariate_names_row_and_column():
    d = design()
    d["x"][7, 1] = np.inf
    with pytest.raises(synthgmm.NonFiniteError, match="row 7"):
        synthgmm.fit(**d)


def test_nan_outcome_only_allowed_on_unlabeled_rows():
    d = design()
    synthgmm.fit(**d)  # NaN on every unlabeled row: fine
    d["y"][3] = np.nan  # a labeled row
    with pytest.raises(synthgmm.NonFiniteError):
        synthgmm.fit(**d)


def test_nan_in_a_source_is_an_error():
    d = design()
    d["sources"]["proxy"][150] = np.nan
    with pytest.raises(synthgmm.NonFiniteError, match="proxy"):
        synthgmm.fit(**d)


def test_too_few_labeled():
    d = design(n=3)
    with pytest.raises(synthgmm.TooFewLabeledError):
        synthgmm.fit(**d)


def test_no_labeled_rows():
    d = design(n=0)
    with pytest.raises(synthgmm.NoLabeledRowsError):
        synthgmm.fit(**d)


def test_collinear_design():
    d = design()
    d["x"] = np.column_stack([d["x"], 2 * d["x"][:, 0]])
    with pytest.raises(synthgmm.CollinearError, match="collinear"):
        synthgmm.fit(**d)


def test_a_coefficient_one_labeled_row_determines_is_a_single_row_fit():
    d = design()
    dummy = np.zeros(200)
    dummy[[5, 120, 150]] = 1.0  # one labeled row (5) at 1
    d["x"] = np.column_stack([d["x"], dummy])
    for estimator in ("gmm", "real-only"):
        with pytest.raises(synthgmm.SingleRowFitError, match="labeled row 5 alone"):
            synthgmm.fit(**d, estimator=estimator)
    d["labeled"][120] = True  # a second labeled row at 1
    d["y"][120] = 0.3
    synthgmm.fit(**d)


def test_own_constant_column_with_intercept_says_what_to_do():
    d = design()
    d["x"] = np.column_stack([np.ones(200), d["x"]])
    with pytest.raises(synthgmm.InvalidConfigError, match="intercept=False"):
        synthgmm.fit(**d)
    assert synthgmm.fit(**d, intercept=False).names == ["x1", "x2", "x3"]


def test_separation_in_logistic_data():
    t = 200
    x = np.linspace(-1, 1, t)
    y = (x > 0).astype(float)
    labeled = np.ones(t, dtype=bool)
    labeled[::2] = False
    with pytest.raises(synthgmm.SeparationError, match="separation"):
        synthgmm.fit(y=y, x=x, labeled=labeled, model="logistic",
                     sources={"proxy": np.clip(y + 0.1, 0, 1)})


def test_logistic_outcome_outside_unit_interval():
    d = design()
    with pytest.raises(synthgmm.InvalidValueError):
        synthgmm.fit(**d, model="logistic")


def test_bad_label_mask_values():
    d = design()
    d["labeled"] = d["labeled"].astype(float)
    d["labeled"][5] = 0.5
    with pytest.raises(synthgmm.InvalidValueError, match="row 5"):
        synthgmm.fit(**d)


def test_unknown_settings_are_value_errors():
    d = design()
    for kwargs in ({"model": "probit"}, {"estimator": "bogus"}, {"covariance": "hac"},
                   {"weighting": "three-step"}, {"small_sample": "hc9"}):
        with pytest.raises(ValueError, match="expected one of"):
            synthgmm.fit(**d, **kwargs)


def test_missing_source_for_an_estimator():
    d = design()
    with pytest.raises(synthgmm.SynthGmmError, match="PPI\\+\\+Synth needs 2 source"):
        synthgmm.fit(**d, estimator="ppi-synth")
    with pytest.raises(synthgmm.SynthGmmError, match="synth"):
        synthgmm.fit(**d, estimator="ppi:synth")


def test_missing_column_in_frame():
    pd = pytest.importorskip("pandas")
    d = design()
    df = pd.DataFrame({"y": d["y"], "a": d["x"][:, 0], "lab": d["labeled"]})
    with pytest.raises(synthgmm.InvalidConfigError, match="no column `b`"):
        synthgmm.fit(df, y="y", x=["a", "b"], labeled="lab")


def test_non_numeric_column():
    pd = pytest.importorskip("pandas")
    d = design()
    df = pd.DataFrame({"y": d["y"], "a": ["text"] * 200, "lab": d["labeled"]})
    with pytest.raises(synthgmm.InvalidValueError, match="not numeric"):
        synthgmm.fit(df, y="y", x=["a"], labeled="lab")


def test_wald_test_shape_error():
    res = synthgmm.fit(**design())
    with pytest.raises(synthgmm.ShapeMismatchError):
        res.wald_test(np.ones((1, 5)))
    with pytest.raises(synthgmm.InvalidConfigError):
        res.wald_test(["nope"])


def test_invalid_alpha():
    res = synthgmm.fit(**design())
    with pytest.raises(synthgmm.InvalidConfigError):
        res.conf_int(1.5)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(x=np.empty((200, 0))),
        lambda d: d.update(x=np.ones((200, 2, 2))),
        lambda d: d.update(y=np.ones((200, 2))),
        lambda d: d.update(y=[], x=np.empty((0, 2)), labeled=np.zeros(0, dtype=bool),
                           sources={"proxy": []}),
        lambda d: d.update(labeled=np.ones(200, dtype=bool)),
        lambda d: d.update(sources={"proxy": np.full(200, 1e300)}),
        lambda d: d.update(sources={"proxy": (d["y"], np.ones((200, 3)))}),
        lambda d: d.update(x=np.ones((200, 2)) * np.arange(2), intercept=False),
        lambda d: d.update(y=np.where(d["labeled"], 1.0, np.nan)),
    ],
)
@pytest.mark.parametrize("estimator", list(synthgmm.ESTIMATORS))
def test_bad_inputs_raise_value_errors_never_panic(mutate, estimator):
    d = design()
    mutate(d)
    try:
        res = synthgmm.fit(**d, estimator=estimator)
    except ValueError:
        return
    # Whatever runs must give finite numbers.
    assert np.isfinite(res.params).all() and np.isfinite(res.bse).all()


def test_quantile_beyond_the_labeled_outcomes():
    d = design()
    with pytest.raises(synthgmm.QuantileUnsupportedError, match="below"):
        synthgmm.fit(**d, model="quantile", quantiles=[0.5, 0.001])
    binary = (d["y"] > 1).astype(float)
    binary[~d["labeled"]] = np.nan
    d["y"] = binary
    with pytest.raises(synthgmm.QuantileUnsupportedError, match="quantile level 0.5"):
        synthgmm.fit(**d, model="quantile", quantiles=[0.5])


@pytest.mark.parametrize("setting", [dict(bootstrap=-5), dict(bootstrap=9.5), dict(seed=-1),
                                     dict(bootstrap=True)])
def test_negative_or_fractional_counts_are_config_errors(setting):
    with pytest.raises(synthgmm.InvalidConfigError, match=next(iter(setting))):
        synthgmm.fit(**design(), **setting)
