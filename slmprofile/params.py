"""One way to check an estimator's or runner's settings, in the style of scikit-learn.

A class lists what each setting may be in ``_parameter_constraints`` and calls :func:`check_params` where it starts
work (``fit``, ``run``, first use), never in ``__init__``:

>>> class Head:
...     _parameter_constraints = {"C": [Options("auto"), Interval(float, 0, None, closed="neither")],
...                               "cv": [Interval(int, 2, None)], "seed": [None, Interval(int, 0, None)]}
...     def __init__(self, C="auto", cv=5, seed=None):
...         self.C, self.cv, self.seed = C, cv, seed
>>> check_params(Head(C=-1))
Traceback (most recent call last):
...
ValueError: The 'C' parameter of Head must be 'auto' or a float > 0; got -1 instead.

A constraint is an :class:`Interval`, :class:`Options`, ``None`` (the value may be None), a type (``str``: any
instance) or a :class:`Rule` (any test with its description). The message names the parameter, the class, what it
must be and what it got: the same sentence for every class of the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Callable, Literal, Mapping, Sequence

__all__ = ["Interval", "Options", "Rule", "check_params", "describe"]


@dataclass(frozen=True)
class Interval:
    """A number of ``kind`` (``int``, or ``float`` which accepts ints too; never a bool) between ``left`` and
    ``right`` (``None``: unbounded), ``closed`` on the sides named."""

    kind: type
    left: float | None = None
    right: float | None = None
    closed: Literal["both", "left", "right", "neither"] = "both"

    def __call__(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, Integral if self.kind is int else Real):
            return False
        if self.left is not None and (value < self.left or (value == self.left and self.closed in ("right", "neither"))):
            return False
        return not (self.right is not None
                    and (value > self.right or (value == self.right and self.closed in ("left", "neither"))))

    def describe(self) -> str:
        what = "an int" if self.kind is int else "a float"
        lo_in, hi_in = self.closed in ("both", "left"), self.closed in ("both", "right")
        if self.left is not None and self.right is not None:
            return f"{what} in {'[' if lo_in else '('}{self.left:g}, {self.right:g}{']' if hi_in else ')'}"
        if self.left is not None:
            return f"{what} {'>=' if lo_in else '>'} {self.left:g}"
        if self.right is not None:
            return f"{what} {'<=' if hi_in else '<'} {self.right:g}"
        return what


@dataclass(frozen=True)
class Options:
    """One of ``values`` (compared with ``==``; a bool matches only a bool)."""

    values: tuple[Any, ...]

    def __init__(self, *values: Any) -> None:
        object.__setattr__(self, "values", tuple(values))

    def __call__(self, value: Any) -> bool:
        return any(value == v and isinstance(value, bool) == isinstance(v, bool) for v in self.values)

    def describe(self) -> str:
        return _join([repr(v) for v in self.values])


@dataclass(frozen=True)
class Rule:
    """Any test of the value, with the words that say what passes it."""

    test: Callable[[Any], bool]
    description: str

    def __call__(self, value: Any) -> bool:
        return bool(self.test(value))

    def describe(self) -> str:
        return self.description


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _matches(constraint: Any, value: Any) -> bool:
    if constraint is None:
        return value is None
    if isinstance(constraint, type):
        return isinstance(value, constraint) and not (constraint is not bool and isinstance(value, bool))
    return constraint(value)


def describe(constraints: Sequence[Any]) -> str:
    """What the constraints allow, in words (``"'auto' or a float > 0"``)."""
    words = []
    for c in constraints:
        if c is None:
            words.append("None")
        elif isinstance(c, type):
            words.append(f"a {c.__name__}")
        elif isinstance(c, Options):
            words.extend(repr(v) for v in c.values)
        else:
            words.append(c.describe())
    return _join(words)


def check_params(owner: Any, constraints: Mapping[str, Sequence[Any]] | None = None, *,
                 name: str | None = None) -> None:
    """Raise ``ValueError`` for the first setting of ``owner`` that meets none of its constraints.

    ``constraints`` defaults to ``owner._parameter_constraints``; ``name`` (the class in the message) to the
    owner's class name. Settings not listed are not checked.
    """
    constraints = constraints if constraints is not None else getattr(owner, "_parameter_constraints", {})
    cls = name or type(owner).__name__
    for param, allowed in constraints.items():
        value = getattr(owner, param)
        if not any(_matches(c, value) for c in allowed):
            raise ValueError(f"The {param!r} parameter of {cls} must be {describe(allowed)}; got {value!r} instead.")
