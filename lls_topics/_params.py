"""Declarative parameter checks for the estimators.

Each estimator class lists what each constructor parameter may be in a class
attribute ``_param_constraints``: a dict from parameter name to a list of
constraints, any one of which the value may satisfy. :func:`validate_params` checks
them all at the start of ``fit``, before any data work. A constraint is

- :class:`Interval`: a number (``Integral`` or ``Real``, never a bool) in a range;
- :class:`Options`: one of a fixed set of values (strings, or ``True``/``False``);
- :class:`HasMethods`: any object with those methods (a solver instance, a network);
- a class: an instance of it;
- ``None``: the value ``None``; ``callable``: any callable.

The error is the same everywhere: ``TypeError`` when the value has a type that no
constraint accepts (a string where a number is expected), ``ValueError`` when a
constraint accepts its type but not the value (a negative count, a fractional
``n_topics``, an unknown option). Both name the parameter and say what was expected.
Relations between parameters (``n_clusters >= n_topics``) stay with the estimator.

This mirrors the idea of scikit-learn's ``_parameter_constraints`` without using its
private module.
"""
from __future__ import annotations

import numbers
from typing import Any, Iterable

import numpy as np

__all__ = ["Interval", "Options", "HasMethods", "LazyInstanceOf", "validate_params",
           "check_param", "BOOL", "N_TOPICS", "RANDOM_STATE"]


class Interval:
    """A number of type ``kind`` between ``left`` and ``right`` (None: unbounded).

    Parameters
    ----------
    kind : numbers.Integral or numbers.Real
        ``Integral`` also accepts a float with an integral value (``3.0``).
    left, right : float or None
        Bounds.
    closed : {"both", "left", "right", "neither"}, default="both"
        Which bounds belong to the interval.

    Examples
    --------
    >>> Interval(numbers.Integral, 1, None).describe()
    'an integer >= 1'
    >>> Interval(numbers.Real, 0, 1, closed="left").accepts_value(1.0)
    False
    """

    def __init__(self, kind: type, left: float | None, right: float | None, *,
                 closed: str = "both") -> None:
        if kind not in (numbers.Integral, numbers.Real):
            raise ValueError(f"kind must be numbers.Integral or numbers.Real, got {kind!r}")
        if closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"closed must be 'both', 'left', 'right' or 'neither', got "
                             f"{closed!r}")
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def accepts_type(self, value: Any) -> bool:
        return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))

    def accepts_value(self, value: Any) -> bool:
        if not np.isfinite(float(value)):
            return False
        if self.kind is numbers.Integral and not float(value).is_integer():
            return False
        if self.left is not None:
            if value < self.left or (value == self.left and self.closed in ("right", "neither")):
                return False
        if self.right is not None:
            if value > self.right or (value == self.right and self.closed in ("left", "neither")):
                return False
        return True

    def describe(self) -> str:
        what = "an integer" if self.kind is numbers.Integral else "a finite number"
        lo = hi = ""
        if self.left is not None:
            lo = f"{'>=' if self.closed in ('both', 'left') else '>'} {self.left}"
        if self.right is not None:
            hi = f"{'<=' if self.closed in ('both', 'right') else '<'} {self.right}"
        bounds = " and ".join(b for b in (lo, hi) if b)
        return f"{what} {bounds}" if bounds else what


class Options:
    """One of a fixed set of values; a value of another type is a type error.

    Examples
    --------
    >>> Options({"kl", "l2"}).describe()
    "one of 'kl', 'l2'"
    """

    def __init__(self, values: Iterable[Any]) -> None:
        self.values = tuple(sorted(values, key=repr))

    def accepts_type(self, value: Any) -> bool:
        return any(type(value) is type(v) for v in self.values)

    def accepts_value(self, value: Any) -> bool:
        return any(type(value) is type(v) and value == v for v in self.values)

    def describe(self) -> str:
        return "one of " + ", ".join(map(repr, self.values))


class HasMethods:
    """Any object with the given methods, e.g. an estimator (``fit``, ``get_params``)."""

    def __init__(self, methods: Iterable[str], description: str) -> None:
        self.methods = tuple(methods)
        self.description = description

    def accepts_type(self, value: Any) -> bool:
        return all(callable(getattr(value, m, None)) for m in self.methods)

    def accepts_value(self, value: Any) -> bool:
        return True

    def describe(self) -> str:
        return self.description


class LazyInstanceOf:
    """An instance of ``module.name`` (e.g. ``torch.nn.Module``) without importing it.

    A value can only be an instance of a class whose module is already imported.
    """

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def accepts_type(self, value: Any) -> bool:
        import sys

        cls = getattr(sys.modules.get(self.module), self.name, None)
        return cls is not None and isinstance(value, cls)

    def accepts_value(self, value: Any) -> bool:
        return True

    def describe(self) -> str:
        return f"a {self.module}.{self.name}"


class _InstanceOf:
    def __init__(self, cls: type) -> None:
        self.cls = cls

    def accepts_type(self, value: Any) -> bool:
        return isinstance(value, self.cls)

    def accepts_value(self, value: Any) -> bool:
        return True

    def describe(self) -> str:
        return "None" if self.cls is type(None) else f"a {self.cls.__name__}"


class _Callable:
    def accepts_type(self, value: Any) -> bool:
        return callable(value)

    def accepts_value(self, value: Any) -> bool:
        return True

    def describe(self) -> str:
        return "a callable"


def _as_constraint(c: Any) -> Any:
    if c is None:
        return _InstanceOf(type(None))
    if c is callable:
        return _Callable()
    if isinstance(c, type):
        return _InstanceOf(c)
    return c


#: constraints shared by most estimators
BOOL = [bool, np.bool_]
N_TOPICS = [Interval(numbers.Integral, 1, None)]
RANDOM_STATE = [None, Interval(numbers.Integral, 0, None), np.random.Generator,
                np.random.RandomState]


def check_param(value: Any, name: str, constraints: list) -> None:
    """Raise unless ``value`` satisfies one of ``constraints`` (see the module notes).

    Examples
    --------
    >>> check_param(2.5, "n_topics", [Interval(numbers.Integral, 1, None)])
    Traceback (most recent call last):
    ...
    ValueError: n_topics must be an integer >= 1, got 2.5
    """
    cs = [_as_constraint(c) for c in constraints]
    if any(c.accepts_type(value) and c.accepts_value(value) for c in cs):
        return
    expected = " or ".join(c.describe() for c in cs)
    error = ValueError if any(c.accepts_type(value) for c in cs) else TypeError
    raise error(f"{name} must be {expected}, got {value!r}")


def validate_params(estimator: Any) -> None:
    """Check every parameter of ``estimator`` against its class's ``_param_constraints``.

    Raises
    ------
    TypeError
        A parameter has a type that none of its constraints accepts.
    ValueError
        A parameter has an accepted type but a value out of range or not an option.
    """
    for name, constraints in type(estimator)._param_constraints.items():
        check_param(getattr(estimator, name), name, constraints)
