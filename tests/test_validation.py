"""The declared-parameter validator (:mod:`spikecast.validation`), the estimators'
declarations and the backtest's (:mod:`spikecast.backtest.params`)."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

from spikecast.backtest.params import BACKTEST_CONSTRAINTS, check_backtest_params
from spikecast.base import BaseForecaster
from spikecast.exceptions import InvalidParameterError, SpikecastError
from spikecast.experiment.registry import MODELS, model_class
from spikecast.validation import (
    Check,
    Integral,
    Interval,
    Options,
    Real,
    Registered,
    declared_constraints,
    validate_params,
)


def _error(value, constraints: list, name: str = "p") -> str | None:
    """The message validating ``{name: value}`` raises, or ``None`` if it is valid."""
    try:
        validate_params({name: value}, {name: constraints})
    except InvalidParameterError as err:
        return str(err)
    return None


# ------------------------------------------------------------------------------ Interval
@pytest.mark.parametrize("value", [1, 5, np.int64(3), np.int8(1), np.uint16(7)])
def test_integer_interval_accepts_integers_numpy_included(value):
    assert _error(value, [Interval(Integral, 1, None, closed="left")]) is None


@pytest.mark.parametrize("value", [0, -1, True, np.bool_(True), 2.0, "3", None, np.float64(2)])
def test_integer_interval_rejects_and_names_parameter_and_value(value):
    message = _error(value, [Interval(Integral, 1, None, closed="left")], name="lookback")
    assert message == f"lookback must be a positive integer, got {value!r}"


@pytest.mark.parametrize("value", [0.0, 0.5, 0, np.float32(0.25), np.int64(0)])
def test_real_interval_accepts_numbers(value):
    assert _error(value, [Interval(Real, 0, 1, closed="left")]) is None


@pytest.mark.parametrize("value", [1.0, -0.1, float("nan"), np.nan, float("inf"), False, "0.5"])
def test_real_interval_rejects_bounds_nan_inf_and_bool(value):
    message = _error(value, [Interval(Real, 0, 1, closed="left")], name="dropout")
    assert message == f"dropout must be a number in [0, 1), got {value!r}"


@pytest.mark.parametrize("value", [float("inf"), -float("inf"), float("nan")])
def test_unbounded_real_interval_is_still_finite(value):
    assert "must be a finite number" in _error(value, [Interval(Real, None, None)])


@pytest.mark.parametrize("interval, text", [
    (Interval(Integral, 1, None, closed="left"), "a positive integer"),
    (Interval(Integral, 0, None, closed="left"), "an integer >= 0"),
    (Interval(Integral, 0, None, closed="neither"), "a positive integer"),
    (Interval(Integral, None, -1, closed="right"), "an integer <= -1"),
    (Interval(Integral, 2, 5), "an integer in [2, 5]"),
    (Interval(Real, 0, None, closed="left"), "a finite number >= 0"),
    (Interval(Real, 0, None, closed="neither"), "a finite number > 0"),
    (Interval(Real, 0, 1, closed="right"), "a number in (0, 1]"),
    (Interval(Real, 0, 1, desc="a probability"), "a probability"),
])
def test_interval_descriptions(interval, text):
    assert interval.alternatives() == [text]


@pytest.mark.parametrize("value, closed, ok", [
    (0, "both", True), (0, "right", False), (1, "left", False), (1, "right", True),
    (0.5, "neither", True), (0, "neither", False),
])
def test_interval_bounds_follow_closed(value, closed, ok):
    assert Interval(Real, 0, 1, closed=closed).is_satisfied_by(value) is ok


def test_interval_rejects_a_bad_declaration():
    with pytest.raises(TypeError, match="Integral or Real"):
        Interval(str, 0, 1)
    with pytest.raises(ValueError, match="closed"):
        Interval(Real, 0, 1, closed="half")
    with pytest.raises(ValueError, match="left=2 > right=1"):
        Interval(Real, 2, 1)


# ------------------------------------------------------------------------------ Options
def test_options_alone_say_what_is_not_one_of_them():
    constraints = [Options("raise", "interpolate", "ffill")]
    assert _error("ffill", constraints) is None
    assert _error("drop", constraints, name="missing") == (
        "missing='drop' is not one of ['raise', 'interpolate', 'ffill']")


def test_options_with_other_constraints_are_listed_with_them():
    constraints = [Options("aic", "bic"), None]
    assert _error(None, constraints) is None
    assert _error("best", constraints, name="ic") == "ic must be 'aic', 'bic' or None, got 'best'"


def test_options_desc_replaces_the_listing():
    constraints = [Options(None, "add", "additive", desc="None or 'add'")]
    assert _error("additive", constraints) is None
    assert _error("mul", constraints, name="trend") == "trend must be None or 'add', got 'mul'"


def test_options_do_not_take_bool_for_int_nor_fail_on_arrays():
    assert _error(True, [Options(0, 1)]) is not None
    assert _error(1, [Options(0, 1)]) is None
    assert _error(np.array([1, 2]), [Options("a")]) is not None


# ------------------------------------------------------------------------------ the others
@pytest.mark.parametrize("value, ok", [
    (True, True), (False, True), (np.bool_(False), True), (1, False), ("yes", False),
    (None, False),
])
def test_boolean(value, ok):
    message = _error(value, ["boolean"], name="verbose")
    assert (message is None) is ok
    if not ok:
        assert message == f"verbose must be True or False, got {value!r}"


def test_none_and_types():
    constraints = [dict, None]
    assert _error(None, constraints) is None
    assert _error({"a": 1}, constraints) is None
    assert _error([1], constraints, name="neuron_params") == (
        "neuron_params must be a dict or None, got [1]")


@pytest.mark.parametrize("value, ok", [
    (3, True), (np.int64(3), True), (True, False), (3.0, False)])
def test_int_type_means_any_integer_but_bool(value, ok):
    assert (_error(value, [int]) is None) is ok


def test_float_type_means_any_real_number_but_bool():
    assert _error(np.float32(0.5), [float]) is None
    assert _error(2, [float]) is None
    assert _error(False, [float]) is not None


def test_other_types_are_named_by_their_import_path():
    message = _error("x", [BaseForecaster])
    assert message == "p must be an instance of spikecast.base.BaseForecaster, got 'x'"


def test_check_uses_its_description_or_the_message_it_raises():
    even = Check(lambda v: v % 2 == 0, "an even number")
    assert _error(4, [even]) is None
    assert _error(3, [even], name="n") == "n must be an even number, got 3"

    def positive(v):
        if v <= 0:
            raise ValueError(f"n={v} is not positive; pass 1 or more")
        return True

    assert _error(-2, [Check(positive, "a positive number")], name="n") == (
        "n=-2 is not positive; pass 1 or more")


def test_registered_reads_the_registry_when_checking():
    registry = {"mse": None}
    constraint = Registered("loss", registry)
    assert _error("mae", [constraint], name="loss") == "unknown loss 'mae'; valid: ['mse']"
    registry["mae"] = None  # registered later
    assert _error("mae", [constraint]) is None
    assert constraint.alternatives() == ["one of ['mse', 'mae']"]


def test_unknown_constraint_is_a_programming_error():
    with pytest.raises(TypeError, match="unknown constraint"):
        validate_params({"p": 1}, {"p": ["integer"]})
    with pytest.raises(TypeError, match="must be a list"):
        validate_params({"p": 1}, {"p": Interval(Integral, 0, None)})


# ------------------------------------------------------------------------------ validate_params
def test_error_is_a_value_error_and_a_spikecast_error():
    with pytest.raises(InvalidParameterError) as excinfo:
        validate_params({"p": 0}, {"p": [Interval(Integral, 1, None)]})
    assert isinstance(excinfo.value, ValueError) and isinstance(excinfo.value, SpikecastError)


def test_where_prefixes_the_message():
    with pytest.raises(InvalidParameterError, match=r"^run.yaml: models\[0\]: p must be"):
        validate_params({"p": 0}, {"p": [Interval(Integral, 1, None)]},
                        where="run.yaml: models[0]")


def test_mapping_skips_undeclared_and_missing_names_and_needs_constraints():
    validate_params({"p": 1, "other": object()}, {"p": [int], "q": [int]})
    with pytest.raises(TypeError, match="constraints"):
        validate_params({"p": 1})


def test_first_invalid_parameter_in_declared_order_is_reported():
    constraints = {"a": [int], "b": [int]}
    with pytest.raises(InvalidParameterError, match="^b must be"):
        validate_params({"b": "x", "a": 1}, constraints)
    with pytest.raises(InvalidParameterError, match="^a must be"):
        validate_params({"b": "x", "a": "y"}, constraints)


class _Base:
    _parameter_constraints = {"horizon": [Interval(Integral, 1, None)], "mode": [str]}

    def __init__(self, horizon=1, mode="a"):
        self.horizon, self.mode = horizon, mode


class _Child(_Base):
    _parameter_constraints = {"alpha": [Interval(Real, 0, None)], "mode": [Options("a", "b")]}

    def __init__(self, horizon=1, mode="a", alpha=0.0):
        super().__init__(horizon, mode)
        self.alpha = alpha


def test_constraints_merge_along_the_mro():
    merged = declared_constraints(_Child)
    assert list(merged) == ["horizon", "mode", "alpha"]
    assert isinstance(merged["mode"][0], Options)  # the subclass's declaration wins
    validate_params(_Child())
    with pytest.raises(InvalidParameterError, match="horizon must be a positive integer"):
        validate_params(_Child(horizon=0))  # declared by the base
    with pytest.raises(InvalidParameterError, match="alpha must be a finite number >= 0"):
        validate_params(_Child(alpha=-1.0))
    with pytest.raises(InvalidParameterError, match="mode='c' is not one of"):
        validate_params(_Child(mode="c"))
    assert declared_constraints(_Base)["mode"] == [str]


# ------------------------------------------------------------------------------ estimators
def _instance(cls):
    required = {"horizon": 3, "season_length": 4}
    params = [p for p in inspect.signature(cls.__init__).parameters.values()
              if p.name != "self" and p.default is p.empty]
    return cls(**{p.name: required[p.name] for p in params})


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_constructor_parameter_is_declared(name):
    cls = model_class(name)
    assert set(declared_constraints(cls)) == set(_instance(cls).get_params(deep=False))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_defaults_are_valid_and_bad_horizon_is_named(name):
    model = _instance(model_class(name))
    model.validate_params()
    model.set_params(horizon=np.int64(2))
    model.validate_params()
    for bad in (0, True, 2.5, None):
        with pytest.raises(InvalidParameterError,
                           match=rf"^horizon must be a positive integer.*got {bad!r}$"):
            model.set_params(horizon=bad).validate_params()


def test_cross_parameter_checks_run_after_the_declared_ones():
    from spikecast.baselines import ETSForecaster

    with pytest.raises(InvalidParameterError, match="damped_trend=True needs a trend"):
        ETSForecaster(horizon=3, damped_trend=True).validate_params()
    with pytest.raises(InvalidParameterError, match="damped_trend must be True or False"):
        ETSForecaster(horizon=3, damped_trend="yes").validate_params()


# ------------------------------------------------------------------------------ backtest
@pytest.mark.parametrize("kwargs, message", [
    (dict(stride=0), "stride must be a positive integer, got 0"),
    (dict(stride="2"), "stride must be a positive integer, got '2'"),
    (dict(window="rolling"), "window must be 'expanding' or 'sliding', got 'rolling'"),
    (dict(window="sliding"), "window='sliding' needs train_length, a positive integer (rows "
                             "per training window); got None"),
    (dict(window="sliding", train_length=2.5), "needs train_length"),
    (dict(train_length=20), "train_length applies to window='sliding' only"),
    (dict(refit=0), "refit must be True, False or a positive integer (refit every k cutoffs), "
                    "got 0"),
    (dict(n_jobs=0), "n_jobs must be None, a positive number of workers or -1 (all cores), "
                     "got 0"),
    (dict(start=None), "start must be an int position, a float fraction or an index label, "
                       "got None"),
    (dict(start=True), "start must be an int position"),
])
def test_backtest_arguments(kwargs, message):
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        check_backtest_params(**kwargs)


@pytest.mark.parametrize("kwargs", [
    dict(start=0.75, stride=np.int64(2), window="sliding", train_length=10, refit=3,
         n_jobs=-1),
    dict(start="2020-01-01", refit=True, n_jobs=None),
    dict(start=np.datetime64("2020-01-01"), refit=np.bool_(False), n_jobs=-2),
    dict(start=float("nan")),  # a fraction, placed (and rejected) with the data
])
def test_valid_backtest_arguments(kwargs):
    check_backtest_params(**kwargs)


def test_backtest_constraints_cover_its_arguments():
    from spikecast.backtest import backtest

    accepted = set(inspect.signature(backtest).parameters)
    assert set(BACKTEST_CONSTRAINTS) <= accepted
    with pytest.raises(TypeError, match="unknown argument"):
        check_backtest_params(strides=2)
