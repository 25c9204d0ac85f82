"""Frozen, validated configs and ``--set name=value`` overrides, nested configs included.

A config is a frozen dataclass whose ``__post_init__`` validates every field with :func:`require`. A field
may itself be a config (an experiment holds the real :class:`~simulations.induction_head.DataConfig` and
:class:`~simulations.induction_head.TrainConfig`, never copies of their fields), and every leaf field is
reachable from the command line by its dotted path (``data.K=128``) or, when no other field has the same
name, by its bare name (``K=128``).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import re
import types
import typing
from dataclasses import dataclass


def require(condition: bool, field: str, rule: str) -> None:
    """Raise ``ValueError("config field '<field>' must <rule>")`` unless ``condition`` holds."""
    if not condition:
        raise ValueError(f"config field {field!r} must {rule}")


def require_seeds(seeds, field: str = "seeds") -> None:
    """A list of run seeds: non-empty, every seed an integer >= 0."""
    require(len(seeds) > 0 and min(seeds) >= 0, field, "be a non-empty list of integers >= 0")


def require_seed_zero(train) -> None:
    """Experiments that loop over ``seeds`` take each run's seed from there: ``train.seed`` must stay 0."""
    require(train.seed == 0, "train.seed", "stay 0: this experiment's runs take their seeds from 'seeds'")


def _type_ok(value, typ) -> tuple[bool, object]:
    """(value is a valid instance of the annotation ``typ``, the value normalised: lists become tuples)."""
    origin = typing.get_origin(typ)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(typ):
            return True, None
        inner = [a for a in typing.get_args(typ) if a is not type(None)]
        return _type_ok(value, inner[0])
    if origin is tuple:
        if not isinstance(value, (tuple, list)):
            return False, value
        inner = typing.get_args(typ)[0]
        checked = [_type_ok(v, inner) for v in value]
        return all(ok for ok, _ in checked), tuple(v for _, v in checked)
    if origin is typing.Literal:
        return value in typing.get_args(typ) and isinstance(value, str), value
    if typ is bool:
        return isinstance(value, bool), value
    if typ is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if typ is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return ok, float(value) if ok else value
    if typ is str:
        return isinstance(value, str), value
    if dataclasses.is_dataclass(typ):
        return isinstance(value, typ), value
    return True, value


def check_types(cfg) -> None:
    """Check every field of a config against its annotation (bools are not integers, floats are finite,
    lists hold their element type) and normalise lists to tuples; a ValueError names the field."""
    hints = typing.get_type_hints(type(cfg))
    for f in dataclasses.fields(cfg):
        ok, value = _type_ok(getattr(cfg, f.name), hints[f.name])
        if not ok:
            raise ValueError(
                f"config field {f.name!r} must be {_type_name(hints[f.name])}, got {getattr(cfg, f.name)!r}"
            )
        object.__setattr__(cfg, f.name, value)


def config(cls):
    """Class decorator for configs: a frozen dataclass whose fields are type-checked (:func:`check_types`)
    before the class's own ``__post_init__`` checks their rules."""
    own = cls.__dict__.get("__post_init__")

    def __post_init__(self):
        check_types(self)
        if own is not None:
            own(self)

    cls.__post_init__ = __post_init__
    return dataclass(frozen=True)(cls)


def is_config(obj) -> bool:
    """True for a dataclass instance or class (a config or a nested config)."""
    return dataclasses.is_dataclass(obj)


@dataclass(frozen=True)
class FieldInfo:
    """One leaf field of a config: its dotted ``path``, type, current value and help text."""

    path: str
    type: object
    value: object
    help: str

    @property
    def name(self) -> str:
        return self.path.rpartition(".")[2]

    @property
    def type_name(self) -> str:
        return _type_name(self.type)


def _type_name(typ) -> str:
    origin = typing.get_origin(typ)
    if origin is tuple:
        plural = {int: "integers", float: "finite numbers", str: "strings", bool: "true/false values"}
        inner = typing.get_args(typ)[0]
        return f"a list of {plural.get(inner, _type_name(inner))}"
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        return f"{_type_name(args[0])} or none"
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(typ))
    names = {int: "an integer", float: "a finite number", bool: "true or false", str: "a string"}
    return names.get(typ, getattr(typ, "__name__", str(typ)))


def field_help(cls) -> dict[str, str]:
    """Help text of each field, read from the numpydoc ``Attributes`` section of the class docstring.

    A line ``name : type`` (or ``name1, name2 : type``) starts an entry; the indented lines below it are its
    help.
    """
    doc = cls.__doc__ or ""
    out, current = {}, []
    for line in doc.splitlines():
        m = re.match(r"^\s{0,8}([A-Za-z_][\w, ]*?)\s:\s(.*)$", line)
        if m:
            current = [n.strip() for n in m.group(1).split(",")]
            for n in current:
                out[n] = ""
        elif current and line.strip() and line.startswith(" " * 8):
            for n in current:
                out[n] = (out[n] + " " + line.strip()).strip()
        elif not line.strip():
            current = []
    return out


def leaf_fields(config, prefix: str = "") -> list[FieldInfo]:
    """Every leaf field of ``config`` (nested configs expanded), in declaration order."""
    hints = typing.get_type_hints(type(config))
    docs = field_help(type(config))
    out = []
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if is_config(value) and not isinstance(value, type):
            out += leaf_fields(value, f"{prefix}{f.name}.")
        else:
            out.append(FieldInfo(f"{prefix}{f.name}", hints[f.name], value, docs.get(f.name, "")))
    return out


def _has_path(config, path: str) -> bool:
    obj = config
    for part in path.split("."):
        if not is_config(obj) or part not in {f.name for f in dataclasses.fields(obj)}:
            return False
        obj = getattr(obj, part)
    return True


def resolve(config, name: str) -> str:
    """The dotted path of field ``name``: a dotted path (to a leaf or to a nested config), or a bare name
    that only one leaf field has."""
    paths = [f.path for f in leaf_fields(config)]
    if name in paths or _has_path(config, name):
        return name
    matches = [p for p in paths if p.rpartition(".")[2] == name]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ValueError(f"config field {name!r} is ambiguous: write one of {', '.join(matches)}")
    close = difflib.get_close_matches(name, paths + [p.rpartition(".")[2] for p in paths], n=3)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"unknown config field {name!r}{hint} (fields: {', '.join(paths)})")


def coerce(text: str, typ, field: str):
    """Parse the command-line string ``text`` as a value of type ``typ`` for ``field`` (or raise)."""
    origin = typing.get_origin(typ)
    if origin is tuple:
        inner = typing.get_args(typ)[0]
        parts = [p for p in text.replace(" ", "").split(",") if p]
        return tuple(coerce(p, inner, field) for p in parts)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if text.lower() in ("none", "null", ""):
            return None
        return coerce(text, args[0], field)
    if origin is typing.Literal:
        allowed = typing.get_args(typ)
        if text not in allowed:
            raise ValueError(
                f"config field {field!r} must be one of {', '.join(map(repr, allowed))}, got {text!r}"
            )
        return text
    try:
        if typ is bool:
            low = text.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if typ is int:
            return int(text)
        if typ is float:
            v = float(text)
            if not math.isfinite(v):
                raise ValueError(f"config field {field!r} must be a finite number, got {text!r}")
            return v
        return typ(text)
    except ValueError as exc:
        if "finite" in str(exc):
            raise
        raise ValueError(f"config field {field!r} expects {_type_name(typ)}, got {text!r}") from None


def replace_path(config, path: str, value):
    """A copy of ``config`` with the leaf at dotted ``path`` set to ``value`` (validated again)."""
    return replace_paths(config, {path: value})


def replace_paths(config, values: dict):
    """A copy of ``config`` with every leaf at a dotted path of ``values`` set, each config validated once,
    with all its new values in place (so rules across fields, such as max_examples >= 2N + 1, see the
    final combination, whatever the order of the values)."""
    tree: dict = {}
    for path, value in values.items():
        *heads, leaf = path.split(".")
        node = tree
        for h in heads:
            node = node.setdefault(h, {})
        node[leaf] = value

    def apply(cfg, node):
        return dataclasses.replace(
            cfg, **{k: apply(getattr(cfg, k), v) if isinstance(v, dict) else v for k, v in node.items()}
        )

    return apply(config, tree)


def with_overrides(config, pairs: typing.Iterable[str]):
    """Return a copy of ``config`` with ``name=value`` strings applied; a later value for the same field wins,
    and each config is validated once with all its new values (:func:`replace_paths`)."""
    types_ = {f.path: f.type for f in leaf_fields(config)}
    values = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"--set expects name=value, got {pair!r}")
        name, value = pair.split("=", 1)
        path = resolve(config, name.strip())
        values[path] = coerce(value.strip(), types_[path], path)
    return replace_paths(config, values)


def to_dict(config) -> dict:
    """JSON-ready nested dict of a config (tuples become lists)."""

    def plain(v):
        if isinstance(v, tuple):
            return [plain(x) for x in v]
        return v

    out = {}
    for f in dataclasses.fields(config):
        v = getattr(config, f.name)
        out[f.name] = to_dict(v) if is_config(v) else plain(v)
    return out


def from_dict(cls, data: dict):
    """Rebuild a config of class ``cls`` from :func:`to_dict` output (missing fields keep their defaults)."""
    hints = typing.get_type_hints(cls)
    kw = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        v, typ = data[f.name], hints[f.name]
        if dataclasses.is_dataclass(typ):
            v = from_dict(typ, v)
        elif typing.get_origin(typ) is tuple and v is not None:
            v = tuple(v)
        kw[f.name] = v
    return cls(**kw)


def fingerprint(config, *, ignore: typing.Iterable[str] = ()) -> str:
    """A 16-hex-digit digest of a config's fields (those in ``ignore`` left out): equal configs, equal
    digests."""
    data = {k: v for k, v in to_dict(config).items() if k not in set(ignore)}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def require_shared(items: list, fields: tuple[str, ...], what: str) -> None:
    """Raise a ValueError naming the first of ``fields`` on which a config in ``items`` differs from the
    first one (runs trained together on stacked weights must share their shapes)."""
    for name in fields:
        first = getattr(items[0], name)
        for j, item in enumerate(items[1:], start=1):
            if getattr(item, name) != first:
                raise ValueError(
                    f"batched runs must share {what}.{name}: run 0 has {name} = {first!r}, run {j} has "
                    f"{name} = {getattr(item, name)!r}; train them in separate batches"
                )
