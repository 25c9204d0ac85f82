"""Frozen, validated experiment configs and ``--set name=value`` overrides."""
from __future__ import annotations

import dataclasses
import typing


def require(condition: bool, field: str, rule: str) -> None:
    """Raise ``ValueError("<field>: must <rule>")`` unless ``condition`` holds."""
    if not condition:
        raise ValueError(f"config field {field!r} must {rule}")


def _coerce(text: str, typ, field: str):
    origin = typing.get_origin(typ)
    if origin is tuple:
        (inner, *_rest) = typing.get_args(typ)
        parts = [p for p in text.replace(" ", "").split(",") if p]
        return tuple(_coerce(p, inner, field) for p in parts)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if text.lower() in ("none", "null", ""):
            return None
        return _coerce(text, args[0], field)
    try:
        if typ is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if typ is int:
            return int(text)
        if typ is float:
            return float(text)
        return typ(text)
    except ValueError:
        raise ValueError(f"config field {field!r} expects {getattr(typ, '__name__', typ)}, got {text!r}") from None


def with_overrides(config, pairs: typing.Iterable[str]):
    """Return a copy of ``config`` with ``name=value`` strings applied (validated again)."""
    hints = typing.get_type_hints(type(config))
    names = {f.name for f in dataclasses.fields(config)}
    changes = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"--set expects name=value, got {pair!r}")
        name, value = pair.split("=", 1)
        name = name.strip()
        if name not in names:
            raise ValueError(f"unknown config field {name!r}; fields: {', '.join(sorted(names))}")
        changes[name] = _coerce(value.strip(), hints[name], name)
    return dataclasses.replace(config, **changes)


def to_dict(config) -> dict:
    """JSON-ready dict of a config (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def from_dict(cls, data: dict):
    """Rebuild a config from :func:`to_dict` output."""
    hints = typing.get_type_hints(cls)
    kw = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            v = data[f.name]
            kw[f.name] = tuple(v) if typing.get_origin(hints[f.name]) is tuple and v is not None else v
    return cls(**kw)
