"""The technique registry: name -> Technique (harness/techniques/protocol.py). One line per technique.

Each module keeps its heavy imports (torch, transformers, peft) inside its functions, so
importing the registry is cheap. A technique brings its own config section (``settings``);
:func:`settings_fields` hands them to RunConfig.

Anchor: peft's ``register_peft_method``, which refuses a name registered twice.
"""

from __future__ import annotations

from typing import Any

from harness.techniques import (
    distill,
    distill_control,
    full,
    lora,
    prompt,
    qlora,
    rag,
    rag_lora,
)
from harness.techniques.protocol import Technique

REGISTRY: dict[str, Technique] = {}


def register(technique: Technique) -> Technique:
    """Add `technique` under its name.

    Raises:
        ValueError: the name is taken, or a config field it owns is owned differently elsewhere.
    """
    if technique.name in REGISTRY:
        raise ValueError(f"technique {technique.name!r} is registered twice")
    for name, (tp, _) in technique.settings.items():
        other = next((t for t in REGISTRY.values() if name in t.settings), None)
        if other is not None and other.settings[name][0] is not tp:
            raise ValueError(f"config field {name!r} of technique {technique.name!r} is already owned by "
                             f"{other.name!r} with another type")
    REGISTRY[technique.name] = technique
    return technique


def settings_fields() -> list[tuple[str, type, Any]]:
    """(name, type, field) of every config field the registered techniques own, in registry order."""
    out: dict[str, tuple[str, type, Any]] = {}
    for technique in REGISTRY.values():
        for name, (tp, fld) in technique.settings.items():
            out.setdefault(name, (name, tp, fld))
    return list(out.values())


def reference() -> Technique:
    """The technique every other candidate's forgetting is measured against (the untouched base)."""
    found = [t for t in REGISTRY.values() if t.reference]
    if len(found) != 1:
        raise ValueError(f"exactly one registered technique must be the reference, found {len(found)}")
    return found[0]


register(prompt.TECHNIQUE)
register(rag.TECHNIQUE)
register(lora.TECHNIQUE)
register(qlora.TECHNIQUE)
register(full.TECHNIQUE)
register(distill.TECHNIQUE)
register(distill_control.TECHNIQUE)
register(rag_lora.TECHNIQUE)
