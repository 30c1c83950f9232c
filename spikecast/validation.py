"""Declared parameter constraints and the one validator that checks them.

Every forecaster declares what each constructor parameter may be in a class attribute,
modelled on scikit-learn's ``_parameter_constraints``::

    class LinearForecaster(BaselineForecaster):
        _parameter_constraints = {
            "lookback": [Interval(Integral, 1, None, closed="left")],
            "alpha": [Interval(Real, 0, None, closed="left")],
            "instance_norm": ["boolean"],
        }

A parameter is valid when it satisfies **any** of its constraints:

- :class:`Interval`: an integer or a real number within bounds (always finite, never a
  ``bool``; numpy scalars such as ``np.int64`` count);
- :class:`Options`: one of a fixed set of values;
- :class:`Check`: a test written in code (e.g. "a registered architecture name, an
  ``Encoder`` subclass or an import path");
- :class:`Registered`: one of the names of a registry that can grow;
- ``"boolean"``: ``True`` or ``False`` (``np.bool_`` too);
- ``None``: the value ``None``;
- a type: an instance of it (``int`` means any integer and ``float`` any real number,
  numpy scalars included, ``bool`` excluded).

Constraints are merged along the class MRO (:func:`declared_constraints`), so a subclass
declares only its own parameters. :func:`validate_params` raises
:class:`~spikecast.exceptions.InvalidParameterError` naming the parameter, what is valid
and what it got: ``horizon must be a positive integer ..., got 0``; a parameter limited
to one :class:`Options` reads ``missing='drop' is not one of ['raise', ...]``; a
:class:`Check` may raise its own, more specific message.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from numbers import Integral, Real

import numpy as np

from spikecast.exceptions import InvalidParameterError

__all__ = [
    "Constraint", "Interval", "Options", "Check", "Registered", "Integral", "Real",
    "declared_constraints", "validate_params", "to_builtin",
]

_CLOSED = ("both", "left", "right", "neither")


def _is_bool(value) -> bool:
    return isinstance(value, (bool, np.bool_))


def _is_integer(value) -> bool:
    return isinstance(value, Integral) and not _is_bool(value)


def _is_real(value) -> bool:
    return isinstance(value, Real) and not _is_bool(value)


def _join(alternatives: list[str]) -> str:
    """``["a", "b", "c"]`` as ``"a, b or c"``."""
    if len(alternatives) == 1:
        return alternatives[0]
    return ", ".join(alternatives[:-1]) + " or " + alternatives[-1]


class Constraint:
    """Base of the constraint types: :meth:`is_satisfied_by` and :meth:`alternatives`."""

    def is_satisfied_by(self, value) -> bool:
        """Whether ``value`` meets the constraint."""
        raise NotImplementedError

    def alternatives(self) -> list[str]:
        """What the constraint admits, as phrases joined with "or" in error messages."""
        raise NotImplementedError


class Interval(Constraint):
    """A finite integer or real number between ``left`` and ``right``.

    Args:
        type: ``Integral`` (or ``int``): integers, numpy integers included; ``Real`` (or
            ``float``): any real number. ``bool`` never counts, and NaN and infinities never
            lie in an interval.
        left, right: the bounds; ``None`` for none.
        closed: which bounds belong to the interval: ``"both"``, ``"left"``, ``"right"``
            or ``"neither"``.
        desc: how messages describe the interval (default: from the bounds, e.g. "a
            positive integer", "an integer >= 0", "a number in [0, 1)").
    """

    def __init__(self, type, left, right, *, closed: str = "both", desc: str | None = None):
        if type in (int, Integral):
            type = Integral
        elif type in (float, Real):
            type = Real
        else:
            raise TypeError(f"Interval type must be Integral or Real, got {type!r}")
        if closed not in _CLOSED:
            raise ValueError(f"closed must be one of {list(_CLOSED)}, got {closed!r}")
        if left is not None and right is not None and left > right:
            raise ValueError(f"Interval: left={left} > right={right}")
        self.type, self.left, self.right, self.closed = type, left, right, closed
        self.desc = desc

    def is_satisfied_by(self, value) -> bool:
        if not (_is_integer(value) if self.type is Integral else _is_real(value)):
            return False
        if not math.isfinite(float(value)):
            return False
        if self.left is not None:
            if value < self.left or (value == self.left and self.closed in ("right", "neither")):
                return False
        if self.right is not None:
            if value > self.right or (value == self.right and self.closed in ("left", "neither")):
                return False
        return True

    def alternatives(self) -> list[str]:
        if self.desc is not None:
            return [self.desc]
        left_in = self.closed in ("both", "left")
        right_in = self.closed in ("both", "right")
        if self.type is Integral:
            noun, article = "integer", "an"
            if self.left is not None and not left_in:  # integers: (a, ... is [a + 1, ...
                left, left_in = self.left + 1, True
            else:
                left = self.left
            if left == 1 and self.right is None:
                return ["a positive integer"]
        else:
            noun, article, left = "number", "a", self.left
        if left is not None and self.right is not None:
            return [f"{article} {noun} in {'[' if left_in else '('}{left}, "
                    f"{self.right}{']' if right_in else ')'}"]
        what = f"{article} {noun}" if self.type is Integral else "a finite number"
        if left is not None:
            return [f"{what} {'>=' if left_in else '>'} {left}"]
        if self.right is not None:
            return [f"{what} {'<=' if right_in else '<'} {self.right}"]
        return [what]

    def __repr__(self) -> str:
        return (f"Interval({self.type.__name__}, {self.left}, {self.right}, "
                f"closed={self.closed!r})")


class Options(Constraint):
    """One of the given values (compared with ``==``; ``True`` is not ``1``).

    Args:
        *values: the valid values (``None`` may be one of them).
        desc: how messages describe them (default: the values' reprs); lets aliases that
            are accepted go unlisted.
    """

    def __init__(self, *values, desc: str | None = None):
        if not values:
            raise ValueError("Options needs at least one value")
        self.values, self.desc = values, desc

    def is_satisfied_by(self, value) -> bool:
        for option in self.values:
            if option is value:
                return True
            if _is_bool(value) != _is_bool(option):
                continue
            try:
                if option == value:
                    return True
            except (TypeError, ValueError):  # e.g. an array compared with a string
                continue
        return False

    def alternatives(self) -> list[str]:
        return [self.desc] if self.desc is not None else [repr(v) for v in self.values]

    def __repr__(self) -> str:
        return f"Options{self.values!r}"


class Check(Constraint):
    """A test written in code: valid when ``func(value)`` is true.

    ``func`` may instead raise ``ValueError`` or ``TypeError`` with a message that says
    more than ``desc`` does (e.g. the list of registered names); that message is then the
    :class:`~spikecast.exceptions.InvalidParameterError`'s.

    Args:
        func: ``func(value) -> bool``.
        desc: what the check admits, for messages ("an Encoder subclass or its name").
    """

    def __init__(self, func: Callable[[object], object], desc: str):
        self.func, self.desc = func, desc

    def is_satisfied_by(self, value) -> bool:
        return bool(self.func(value))

    def alternatives(self) -> list[str]:
        return [self.desc]

    def __repr__(self) -> str:
        return f"Check({getattr(self.func, '__name__', self.func)!r}, {self.desc!r})"


class Registered(Check):
    """One of the names of a registry, read when checking (so names added later count).

    Fails with the wording of spikecast's registry look-ups: ``unknown loss 'l3'; valid:
    ['mse', 'mae', 'huber', 'quantile']``.

    Args:
        noun: what the names are ("loss", "readout").
        names: the registry: a mapping (its keys) or another iterable of names.
    """

    def __init__(self, noun: str, names: Mapping | Iterable):
        self.noun, self.names = noun, names
        super().__init__(self._check, f"a registered {noun}")

    def alternatives(self) -> list[str]:
        return [f"one of {list(self.names)}"]

    def _check(self, value) -> bool:
        if Options(*self.names).is_satisfied_by(value):
            return True
        raise ValueError(f"unknown {self.noun} {value!r}; valid: {list(self.names)}")


def _type_alternative(cls: type) -> str:
    named: dict[type, str] = {
        Integral: "an integer", Real: "a number", str: "a string", dict: "a dict",
        list: "a list", tuple: "a tuple", os.PathLike: "a path (os.PathLike)"}
    return named.get(cls, f"an instance of {cls.__module__}.{cls.__qualname__}")


class _Type(Constraint):
    def __init__(self, cls: type):
        self.cls = {int: Integral, float: Real}.get(cls, cls)

    def is_satisfied_by(self, value) -> bool:
        if self.cls in (Integral, Real) and _is_bool(value):
            return False
        return isinstance(value, self.cls)

    def alternatives(self) -> list[str]:
        return [_type_alternative(self.cls)]


class _Boolean(Constraint):
    def is_satisfied_by(self, value) -> bool:
        return _is_bool(value)

    def alternatives(self) -> list[str]:
        return ["True", "False"]


class _None(Constraint):
    def is_satisfied_by(self, value) -> bool:
        return value is None

    def alternatives(self) -> list[str]:
        return ["None"]


def _as_constraint(item) -> Constraint:
    if isinstance(item, Constraint):
        return item
    if item is None:
        return _None()
    if isinstance(item, str) and item == "boolean":
        return _Boolean()
    if isinstance(item, type):
        return _Type(item)
    raise TypeError(f"unknown constraint {item!r}: use Interval, Options, Check, "
                    "Registered, 'boolean', None or a type")


def declared_constraints(cls: type) -> dict[str, list]:
    """The ``_parameter_constraints`` of ``cls`` and its bases, merged along the MRO (a
    subclass's declaration of a parameter replaces its base's)."""
    merged: dict[str, list] = {}
    for klass in reversed(cls.__mro__):
        merged.update(vars(klass).get("_parameter_constraints", {}))
    return merged


def _failure(name: str, value, constraints: list[Constraint]) -> str | None:
    """``None`` if ``value`` satisfies one of ``constraints``, else the error message."""
    raised = None
    for constraint in constraints:
        try:
            if constraint.is_satisfied_by(value):
                return None
        except (TypeError, ValueError) as err:  # a Check's own message
            raised = raised or str(err)
    if raised is not None:
        return raised
    if len(constraints) == 1 and type(constraints[0]) is Options \
            and constraints[0].desc is None:
        return f"{name}={value!r} is not one of {list(constraints[0].values)}"
    alternatives = [a for c in constraints for a in c.alternatives()]
    return f"{name} must be {_join(alternatives)}, got {value!r}"


def validate_params(params, constraints: Mapping[str, list] | None = None, *,
                    where: str | None = None) -> None:
    """Check parameters against their declared constraints.

    Args:
        params: an estimator (its attributes are read) or a mapping of parameter values (a
            declared name it lacks is skipped).
        constraints: ``{name: [constraint, ...]}``; default: the estimator's
            :func:`declared_constraints`. The names are checked in this order.
        where: what the messages start with (e.g. ``"config.yaml: models[0]"``); none by
            default.

    Raises:
        InvalidParameterError: the first parameter that satisfies none of its constraints;
            the message names it, what is valid and the value it got.
    """
    is_mapping = isinstance(params, Mapping)
    if constraints is None:
        if is_mapping:
            raise TypeError("validate_params: pass the constraints of a mapping")
        constraints = declared_constraints(type(params))
    for name, declared in constraints.items():
        if is_mapping and name not in params:
            continue
        value = params[name] if is_mapping else getattr(params, name)
        if not isinstance(declared, (list, tuple)):
            raise TypeError(f"the constraints of {name!r} must be a list, got {declared!r}")
        message = _failure(name, value, [_as_constraint(c) for c in declared])
        if message is not None:
            raise InvalidParameterError(f"{where}: {message}" if where else message)


def to_builtin(value):
    """``value`` with NumPy scalars and arrays replaced by Python numbers and lists, inside
    dicts, lists and tuples too.

    Parameters accept ``np.int64(96)`` where they accept ``96``; what is stored from them
    (Lightning hyperparameters in checkpoints, model-file metadata) must be plain Python, or
    ``torch.load(weights_only=True)`` and JSON refuse it.
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: to_builtin(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_builtin(v) for v in value)
    return value
