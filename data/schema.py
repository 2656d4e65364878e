"""Declarative field specifications for frozen scenario dataclasses, and their validation.

A scenario class declares each field with :func:`spec` (unit, allowed range or choices, help text) and calls
:func:`validate` in ``__post_init__``. Every error is a :class:`~isacopt.errors.ScenarioError` that names the field,
the value and what is allowed, e.g. ``false_alarm_prob = 1.5 is out of range: must be < 1``.
"""
from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any, Callable

from ..errors import ScenarioError

_MISSING = dataclasses.MISSING


def spec(default: Any = _MISSING, *, unit: str = "", low: float | None = None, high: float | None = None,
         low_open: bool = False, high_open: bool = False, choices: tuple | None = None, help: str = "",
         length: int | None = None, optional: bool = False, sized_by: tuple[str, ...] = (), aliases: tuple = ()):
    """A dataclass field carrying its validation rules in ``metadata``.

    ``low``/``high`` bound numbers (and every number inside a list); ``*_open`` makes the bound strict;
    ``choices`` enumerates allowed values; ``length`` fixes a list's length; ``optional`` admits ``None``.
    ``sized_by``: fields that set this (optional) field's size, e.g. the CU positions by the CUs per BS: a value
    that comes from a scenario file is dropped (drawn afresh) when the user changes one of them
    (:func:`~isacopt.data.loader.with_overrides`).
    ``aliases``: old names of the field (a name, or an :class:`Alias` that converts units), still read wherever
    scenario keys enter, with a deprecation note (:func:`~isacopt.data.loader.canonical`).
    """
    meta = dict(unit=unit, low=low, high=high, low_open=low_open, high_open=high_open, choices=choices,
                help=help, length=length, optional=optional, sized_by=tuple(sized_by),
                aliases=tuple(a if isinstance(a, Alias) else Alias(a) for a in aliases))
    if isinstance(default, (list, dict)):
        raise TypeError("use a tuple default")
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass(frozen=True)
class Alias:
    """An old name of a scenario field; ``convert`` maps its value to the field's unit (raising ``ValueError`` with
    the reason, e.g. ``is out of range: must be > 0 (W)``), ``unit`` is the old unit."""

    name: str
    convert: Callable[[Any], Any] | None = None
    unit: str = ""


def _watt_to_dbm(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError("is not a number: expected > 0 (W)")
    if value <= 0:
        raise ValueError("is out of range: must be > 0 (W)")
    return 10.0 * math.log10(value) + 30.0


def watts(name: str) -> Alias:
    """An old power field in W, read into a dBm field: 10 log10(P / 1 W) + 30."""
    return Alias(name, _watt_to_dbm, "W")


def aliases(cls) -> dict[str, tuple[str, Alias]]:
    """Old name -> (field, :class:`Alias`) of a scenario class."""
    return {a.name: (f.name, a) for f in dataclasses.fields(cls) for a in f.metadata.get("aliases", ())}


def describe_range(meta: dict) -> str:
    """Human-readable allowed range of a field, e.g. ``> 0 (W)`` or ``one of 'I', 'II'``."""
    if meta.get("choices"):
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    parts = []
    if meta.get("low") is not None:
        parts.append(("> " if meta["low_open"] else ">= ") + f"{meta['low']:g}")
    if meta.get("high") is not None:
        parts.append(("< " if meta["high_open"] else "<= ") + f"{meta['high']:g}")
    text = " and ".join(parts) if parts else "any value"
    return text + (f" ({meta['unit']})" if meta.get("unit") else "")


#: Largest value of an integer field without its own upper bound (a count or size beyond it is a typo: a 23-digit
#: antenna count used to allocate for half a minute and end in MemoryError).
MAX_INTEGER = 10 ** 6
#: Largest antenna count of the SDP-based papers: one N x N complex Hermitian variable per user and BS; at N = 1024
#: each is 16 MB and an interior-point iteration factorizes a system of ~N^2 unknowns.
MAX_ANTENNAS = 1024


def _fail(owner: str, name: str, value: Any, why: str) -> ScenarioError:
    return ScenarioError(f"{owner}: field '{name}' = {value!r} {why}")


def _check_number(owner, name, value, meta, kind):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(owner, name, value, f"is not a number: expected {kind}, {describe_range(meta)}")
    if kind == "an integer" and not float(value).is_integer():
        raise _fail(owner, name, value, f"is not an integer: expected {describe_range(meta)}")
    if not math.isfinite(value):
        raise _fail(owner, name, value, f"is not finite: expected {describe_range(meta)}")
    if kind == "an integer" and meta.get("high") is None and abs(value) > MAX_INTEGER:
        raise _fail(owner, name, value, f"is larger than any count or size this tool can hold (> {MAX_INTEGER:.0e}); "
                                        "a typo?")
    lo, hi = meta.get("low"), meta.get("high")
    if (lo is not None and (value < lo or (meta["low_open"] and value == lo))) or (
            hi is not None and (value > hi or (meta["high_open"] and value == hi))):
        raise _fail(owner, name, value, f"is out of range: must be {describe_range(meta)}")
    return int(value) if kind == "an integer" else float(value)


def _coerce(owner: str, name: str, value: Any, tp: Any, meta: dict):
    """Check ``value`` against the annotation ``tp`` and the field rules; return the normalized value."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)) and type(None) in args:
        if value is None:
            return None
        tp = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(tp), typing.get_args(tp)
    if value is None and not meta.get("optional"):
        raise _fail(owner, name, value, "is missing")
    if tp is float:
        value = _check_number(owner, name, value, meta, "a number")
    elif tp is int:
        value = _check_number(owner, name, value, meta, "an integer")
    elif tp is bool:
        if not isinstance(value, bool):
            raise _fail(owner, name, value, "is not a boolean: expected true or false")
    elif tp is str:
        if not isinstance(value, str):
            raise _fail(owner, name, value, f"is not a string: expected {describe_range(meta)}")
    elif origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise _fail(owner, name, value, "is not a list")
        item_tp = args[0]
        if meta.get("length") is not None and len(value) != meta["length"]:
            raise _fail(owner, name, value, f"has {len(value)} entries, expected {meta['length']}")
        inner = dict(meta, length=None, choices=None)
        if typing.get_origin(item_tp) is tuple:  # list of fixed-length tuples (positions)
            n = len(typing.get_args(item_tp))
            out = []
            for item in value:
                if not isinstance(item, (list, tuple)) or len(item) != n:
                    raise _fail(owner, name, value, f"must be a list of {n}-element lists")
                out.append(tuple(_coerce(owner, name, v, typing.get_args(item_tp)[0], inner) for v in item))
            value = tuple(out)
        else:
            value = tuple(_coerce(owner, name, v, item_tp, inner) for v in value)
    if meta.get("choices") and value not in meta["choices"]:
        raise _fail(owner, name, value, f"is not allowed: expected {describe_range(meta)}")
    return value


def validate(obj) -> None:
    """Validate and normalize every field of a frozen scenario dataclass in place (call from ``__post_init__``)."""
    owner = type(obj).__name__
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        value = _coerce(owner, f.name, getattr(obj, f.name), hints[f.name], dict(f.metadata))
        object.__setattr__(obj, f.name, value)


def require(condition: bool, owner: str, name: str, value: Any, why: str) -> None:
    """Raise a :class:`ScenarioError` for a cross-field rule (``why`` says what is allowed and how to fix it)."""
    if not condition:
        raise _fail(owner, name, value, why)


def _plain(value) -> str:
    """TOML-like text of a default value (NumPy scalars shown as plain numbers)."""
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_plain(v) for v in value) + "]"
    if isinstance(value, float) or hasattr(value, "dtype"):
        return f"{float(value):.10g}"
    return repr(value)


def field_help(cls) -> list[tuple[str, str, str, str]]:
    """(name, default, allowed range, help) for every field of a scenario class, for ``run.py list``."""
    rows = []
    for f in dataclasses.fields(cls):
        default = "required" if f.default is _MISSING else _plain(f.default)
        old = ", ".join(a.name + (f" in {a.unit}" if a.unit else "") for a in f.metadata.get("aliases", ()))
        text = f.metadata.get("help", "") + (f" (old name {old}: deprecated)" if old else "")
        rows.append((f.name, default, describe_range(dict(f.metadata)), text))
    return rows
