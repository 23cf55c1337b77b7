"""Reading a filter's JSON config into a dataclass, checked like the Rust SDK's serde
configs: unknown keys, missing keys and values of the wrong type refuse the config with
a message naming the key.

    @dataclass
    class Config:
        classes: list[str] = field(default_factory=list)
        min_confidence: float = 0.0
        mode: Literal["set", "count"] | None = None

    class MyFilter(weir.Filter):
        Config = Config               # __init__ then gets a Config, not a dict

Supported field types: `bool`, `int`, `float` (an int is accepted), `str`, `list[T]`,
`dict[str, T]`, `T | None` (`Optional[T]`), `Literal[...]`, `Any`, and nested
dataclasses.
"""

import dataclasses
import json
import types as _types
import typing

from .errors import Error

__all__ = ["parse_config"]


def _describe(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{'true' if value else 'false'}`"
    if isinstance(value, (int, float)):
        return f"number {value!r}"
    if isinstance(value, str):
        return f"string {json.dumps(value, ensure_ascii=False)}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if tp is typing.Any:
        return "any value"
    if tp is bool:
        return "a boolean"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is str:
        return "a string"
    if origin is list or tp is list:
        return "an array"
    if origin is dict or tp is dict or dataclasses.is_dataclass(tp):
        return "an object"
    if origin is typing.Literal:
        return " or ".join(f"`{v}`" for v in typing.get_args(tp))
    return getattr(tp, "__name__", str(tp))


def _check(value, tp, where):
    """`value` converted to `tp`, or an Error naming `where`."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is typing.Any or tp is object:
        return value
    if origin is typing.Union or origin is _types.UnionType:
        if value is None and type(None) in args:
            return None
        others = [a for a in args if a is not type(None)]
        if len(others) == 1:
            return _check(value, others[0], where)
        for a in others:
            try:
                return _check(value, a, where)
            except Error:
                pass
        raise Error(f"invalid config: {where}: invalid type: {_describe(value)}, expected one of {', '.join(_type_name(a) for a in others)}")
    if origin is typing.Literal:
        if any(type(value) is type(a) and value == a for a in args):
            return value
        if isinstance(value, str):
            raise Error(f"invalid config: {where}: unknown variant `{value}`, expected {_type_name(tp)}")
        raise Error(f"invalid config: {where}: invalid type: {_describe(value)}, expected {_type_name(tp)}")
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif origin is list or tp is list:
        if isinstance(value, list):
            item = args[0] if args else typing.Any
            return [_check(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    elif origin is dict or tp is dict:
        if isinstance(value, dict):
            item = args[1] if len(args) == 2 else typing.Any
            return {k: _check(v, item, f"{where}.{k}") for k, v in value.items()}
    elif dataclasses.is_dataclass(tp):
        if isinstance(value, dict):
            return _dataclass(tp, value, f"{where}.")
    else:
        raise TypeError(f"weir.parse_config does not know the type {tp!r} of {where}")
    raise Error(f"invalid config: {where}: invalid type: {_describe(value)}, expected {_type_name(tp)}")


def _dataclass(cls, raw, prefix=""):
    hints = typing.get_type_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if f.init]
    names = [f.name for f in fields]
    for key in raw:
        if key not in names:
            if len(names) == 0:
                expected = "there are no fields"
            elif len(names) == 1:
                expected = f"expected `{names[0]}`"
            else:
                expected = "expected one of " + ", ".join(f"`{n}`" for n in names)
            raise Error(f"invalid config: unknown field `{prefix}{key}`, {expected}")
    values = {}
    for f in fields:
        if f.name in raw:
            values[f.name] = _check(raw[f.name], hints.get(f.name, typing.Any), f"{prefix}{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise Error(f"invalid config: missing field `{prefix}{f.name}`")
    return cls(**values)


def parse_config(cls, raw):
    """The JSON config `raw` (a dict, as parsed) read into the dataclass `cls`; raises
    `weir.Error("invalid config: ...")` naming the key at fault."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError("weir.parse_config reads configs into dataclasses")
    if not isinstance(raw, dict):
        raise Error(f"invalid config: invalid type: {_describe(raw)}, expected an object")
    return _dataclass(cls, raw)
