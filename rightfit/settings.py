"""Typed settings: dataclass fields with a help text and limits, validated from plain data.

Every field is declared with :func:`opt`, which stores its help text and its constraints
(``choices``, ``min``, ``max``) in the dataclass field metadata. :func:`from_dict` reads that
metadata, so a new knob is one line, and every mistake becomes one sentence naming the file,
the line (when the data came from YAML) or the command-line override, and what to do.

The harness's run configuration (harness/config.py) and each technique's own section
(harness/techniques/<name>.py) are built with it.
"""

from __future__ import annotations

import dataclasses
import math
import reprlib
import typing
from dataclasses import field
from typing import Any

from rightfit.errors import UserError

MAX_ECHO = 80  # characters of a bad value quoted back in a message (a YAML alias bomb can be 50 MB)


AUTO = "auto"  # a number field's value meaning "chosen for the model" (the field says by what)


def opt(default: Any, help: str, *, choices: list | None = None, min: float | None = None,
        max: float | None = None, auto: bool = False) -> Any:
    """A settings field with its help text and constraints; `auto`: a number field that also
    takes the word "auto"."""
    meta = {"help": help, "choices": choices, "min": min, "max": max, "auto": auto}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=meta)
    return field(default=default, metadata=meta)


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict, _REPR.maxset = 3, 6, 6, 6, 6
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = MAX_ECHO


def shown(value: Any) -> str:
    """`value` as a message quotes it: a repr cut to a few elements and MAX_ECHO characters (a YAML
    alias bomb is a few shared lists that a plain repr expands to megabytes)."""
    text = _REPR.repr(value)
    return text if len(text) <= 2 * MAX_ECHO else f"{text[:2 * MAX_ECHO]}..."


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _type_name(tp: Any) -> str:
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string", list: "a list"}.get(
        tp, getattr(tp, "__name__", str(tp)))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check `value` against the annotated type; ints are accepted for floats, nothing else."""
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):
        # YAML 1.1 reads 1e-3 (no dot) as a string; a number written that way is still a number
        try:
            value = float(value)
        except ValueError:
            pass
    if tp is bool and not isinstance(value, bool):
        raise UserError(f"{where} must be true or false, not {shown(value)}; fix the value.")
    if tp in (int, float) and (isinstance(value, bool) or not isinstance(value, tp)):
        raise UserError(f"{where} must be {_type_name(tp)}, not {shown(value)}; fix the value.")
    if tp is float and not math.isfinite(value):
        raise UserError(f"{where} must be a finite number, not {shown(value)}; fix the value.")
    if tp is str and not isinstance(value, str):
        raise UserError(f"{where} must be a string, not {shown(value)}; quote it or fix the value.")
    if tp is list:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise UserError(f"{where} must be a list, not {shown(value)}; write it as [a, b] or a,b.")
    return value


def _check(value: Any, meta: dict, where: str) -> None:
    choices, lo, hi = meta.get("choices"), meta.get("min"), meta.get("max")
    items = value if isinstance(value, list) else [value]
    if choices:
        for item in items:
            if item not in choices:
                raise UserError(f"{where} has {shown(item)}, which is not one of {', '.join(map(str, choices))}; "
                                f"pick one of those.")
    if lo is not None and value < lo:
        raise UserError(f"{where} is {value}, below its minimum {lo}; raise it.")
    if hi is not None and value > hi:
        raise UserError(f"{where} is {value}, above its maximum {hi}; lower it.")


def from_dict(cls: type, data: Any, source: str = "config", lines: dict | None = None, prefix: str = "",
              overridden: frozenset = frozenset(), origins: dict | None = None) -> Any:
    """Build dataclass `cls` from nested dicts, validating every field.

    Args:
        cls: the dataclass type.
        data: a mapping (from YAML or JSON).
        source: the file the data came from, for messages.
        lines: field path -> line number in `source` (from rightfit.files.load_yaml).
        prefix: field path of `cls` inside the root settings.
        overridden: field paths set by `key=value` on the command line.
        origins: field path -> the file a value came from when not `source` (a plan's candidates).

    Raises:
        UserError: unknown field, wrong type, out-of-range value.
    """
    lines, origins = lines or {}, origins or {}

    def where(path: str) -> str:
        if path in overridden:
            return f"command-line override '{path}'"
        if path in origins and path not in lines:
            return f"{origins[path]}: field '{path}'"
        line = lines.get(path)
        return f"{source}{f':{line}' if line else ''}: field '{path}'"

    if data is None:
        data = {}
    if not isinstance(data, dict):
        path = prefix.rstrip(".") or "<root>"
        if path in overridden:
            raise UserError(f"command-line override '{path}' names a section, not a field; set one of its "
                            f"fields, e.g. {path}.{dataclasses.fields(cls)[0].name}=...")
        raise UserError(f"{where(path)} must be a mapping of field: value; fix the YAML.")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:  # every misspelt name first: a type error below may be its consequence
        if key not in known:
            raise UserError(f"{where(f'{prefix}{key}')} is unknown; valid fields here are {', '.join(known)}.")
    kwargs = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        tp = hints[key]
        if _is_dataclass_type(tp):
            kwargs[key] = from_dict(tp, value, source, lines, f"{path}.", overridden, origins)
            continue
        if value == AUTO and known[key].metadata.get("auto"):
            kwargs[key] = AUTO
            continue
        value = _coerce(value, tp, where(path))
        _check(value, dict(known[key].metadata), where(path))
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except UserError as e:
        if source != "config" and not e.message.startswith(source):
            raise UserError(f"{source}: {e.message}") from None
        raise


def to_dict(obj: Any) -> dict:
    return dataclasses.asdict(obj)


def describe(cls: type, prefix: str = "") -> list[tuple[str, Any, str]]:
    """(field path, default, help) for every field of a settings dataclass, nested ones dotted."""
    rows = []
    defaults = cls()
    for f in dataclasses.fields(cls):
        value = getattr(defaults, f.name)
        if dataclasses.is_dataclass(value):
            rows += describe(type(value), f"{prefix}{f.name}.")
        else:
            rows.append((f"{prefix}{f.name}", value, f.metadata.get("help", "")))
    return rows
