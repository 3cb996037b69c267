"""Type checks for records read from disk (scan.json, journal lines, manifest lines).

Every record imgreview reads back is checked once, where it is read, against the type it is
declared with (a dataclass or a ``TypedDict``): a value of the wrong JSON type never reaches the
code that uses it. :func:`check` raises :class:`RecordError` saying where the problem is
(``groups[3].members[0].size: expected an integer, got 'big'``).

Validators are compiled once per type (a closure per field), so checking a large scan result
costs little more than reading it.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

Validator = Callable[[Any], None]


class RecordError(ValueError):
    """A record read from disk does not have the declared shape."""

    def __init__(self, problem: str, where: tuple[str, ...] = ()) -> None:
        self.problem = problem
        self.where = where
        super().__init__(self._text())

    def _text(self) -> str:
        loc = "".join(self.where).lstrip(".")
        return f"{loc}: {self.problem}" if loc else self.problem

    def inside(self, part: str) -> RecordError:
        self.where = (part, *self.where)
        self.args = (self._text(),)
        return self


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _simple(test: Callable[[Any], bool], expected: str) -> Validator:
    def validate(value: Any) -> None:
        if not test(value):
            raise RecordError(f"expected {expected}, got {_show(value)}")
    return validate


_STR = _simple(lambda v: isinstance(v, str), "a string")
_INT = _simple(lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer")
_FLOAT = _simple(lambda v: isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v),
                 "a finite number")
_BOOL = _simple(lambda v: isinstance(v, bool), "true or false")
_NONE = _simple(lambda v: v is None, "null")


def _any(value: Any) -> None:
    return None


_SIMPLE: dict[Any, Validator] = {str: _STR, bool: _BOOL, int: _INT, float: _FLOAT, None: _NONE, type(None): _NONE}


@cache
def validator(hint: Any) -> Validator:
    """The compiled check of ``hint`` (str, int, float, bool, None, Any, Literal, unions, list[X],
    dict[str, X], dataclasses and TypedDicts)."""
    if hint is Any or hint is object:
        return _any
    if hint in _SIMPLE:
        return _SIMPLE[hint]
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return _union([validator(a) for a in get_args(hint)])
    if origin is Literal:
        allowed = get_args(hint)
        return _simple(lambda v: any(v == a and type(v) is type(a) for a in allowed), f"one of {list(allowed)}")
    if origin in (list, tuple) or hint in (list, tuple):
        args = get_args(hint)
        return _list(validator(args[0]) if args else _any)
    if origin is dict or hint is dict:
        args = get_args(hint)
        return _dict(validator(args[1]) if args else _any)
    if dataclasses.is_dataclass(hint) or typing.is_typeddict(hint):
        return _record(hint)
    raise TypeError(f"schema: unsupported type {hint!r}")  # pragma: no cover - a programming error


def _union(options: list[Validator]) -> Validator:
    def one_of(value: Any) -> None:
        last: RecordError | None = None
        for check_option in options:
            try:
                check_option(value)
                return
            except RecordError as exc:
                last = exc
        assert last is not None
        raise last if len(options) == 1 else RecordError(f"unexpected value {_show(value)}")
    return one_of


def _list(item: Validator) -> Validator:
    def a_list(value: Any) -> None:
        if not isinstance(value, list):
            raise RecordError(f"expected a list, got {_show(value)}")
        if item is not _any:
            for i, v in enumerate(value):
                try:
                    item(v)
                except RecordError as exc:
                    raise exc.inside(f"[{i}]") from None
    return a_list


def _dict(val: Validator) -> Validator:
    def an_object(value: Any) -> None:
        if not isinstance(value, dict):
            raise RecordError(f"expected an object, got {_show(value)}")
        if val is not _any:
            for k, v in value.items():
                try:
                    val(v)
                except RecordError as exc:
                    raise exc.inside(f".{k}") from None
    return an_object


def _record(cls: type) -> Validator:
    hints = get_type_hints(cls, include_extras=True)
    if dataclasses.is_dataclass(cls):
        fields = dataclasses.fields(cls)
        required = frozenset(f.name for f in fields
                             if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
        names = {f.name for f in fields}
        hints = {k: v for k, v in hints.items() if k in names}
    else:  # NotRequired read from the hints: __required_keys__ misses it under postponed annotations
        total = getattr(cls, "__total__", True)
        required = frozenset(k for k, h in hints.items()
                             if get_origin(h) is typing.Required or (total and get_origin(h) is not typing.NotRequired))
    checks = [(name, _plain_types(_strip_required(hint)), validator(_strip_required(hint)))
              for name, hint in hints.items()]

    def a_record(value: Any) -> None:
        if not isinstance(value, dict):
            raise RecordError(f"expected an object, got {_show(value)}")
        for name in required:
            if name not in value:
                raise RecordError("missing").inside(f".{name}")
        for name, plain, check_field in checks:
            v = value.get(name, _ABSENT)
            if v is _ABSENT or type(v) in plain:
                continue
            try:
                check_field(v)
            except RecordError as exc:
                raise exc.inside(f".{name}") from None
    return a_record


_ABSENT = object()


def _plain_types(hint: Any) -> frozenset[type]:
    """Exact types that satisfy ``hint`` without a closer look (the fast path of a record check)."""
    if hint in (str, int, bool):
        return frozenset({hint})
    if hint is None or hint is type(None):
        return frozenset({type(None)})
    if hint is float:
        return frozenset({int})
    if get_origin(hint) in (Union, types.UnionType):
        out: frozenset[type] = frozenset()
        for a in get_args(hint):
            out |= _plain_types(a)
        return out
    return frozenset()


def _strip_required(hint: Any) -> Any:
    origin = get_origin(hint)
    if origin in (typing.Required, typing.NotRequired):
        return get_args(hint)[0]
    return hint


def check(value: Any, hint: Any) -> None:
    """Raise :class:`RecordError` unless ``value`` (decoded JSON) fits the type ``hint``."""
    validator(hint)(value)
