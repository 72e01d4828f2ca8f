"""Dataclasses to JSON and back, losslessly: how `sddd serve` sends a search result or a check
report to the command that shows it.

``dump`` turns a dataclass (nested dataclasses, lists, dicts, ``None``, numbers and strings) into
plain JSON values, floats at full precision (unlike the rounded ``--json`` output); ``load``
rebuilds it from its field annotations, so the command renders exactly what an in-process run
would have. Only these shapes are supported: a field of any other type is a TypeError here,
not a silently wrong result there.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")
_PLAIN = (str, int, float, bool)


def dump(value: Any) -> Any:
    """``value`` as JSON-ready data (dataclasses as objects of their fields)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: dump(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [dump(v) for v in value]
    if isinstance(value, dict):
        return {str(k): dump(v) for k, v in value.items()}
    if value is None or isinstance(value, _PLAIN):
        return value
    raise TypeError(f"cannot send a {type(value).__name__} over the wire")


def load(cls: type[T], data: Any) -> T:
    """The ``cls`` that ``dump`` gave ``data`` for."""
    out: T = _load(cls, data)
    return out


def _load(kind: Any, data: Any) -> Any:
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(kind)
        if data is None and type(None) in options:
            return None
        concrete = [o for o in options if o is not type(None)]
        if len(concrete) != 1:
            raise TypeError(f"cannot decode the union {kind}")
        return _load(concrete[0], data)
    if origin is list:
        (item,) = typing.get_args(kind)
        return [_load(item, v) for v in data]
    if origin is dict:
        _key, item = typing.get_args(kind)
        return {k: _load(item, v) for k, v in data.items()}
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        hints = typing.get_type_hints(kind)
        fields = {f.name: _load(hints[f.name], data[f.name])
                  for f in dataclasses.fields(kind) if f.init and f.name in data}
        return kind(**fields)
    if kind is float and isinstance(data, int | float):
        return float(data)
    if kind in _PLAIN and isinstance(data, kind):
        return data
    if kind is Any:
        return data
    raise TypeError(f"cannot decode {data!r} as {kind}")
