"""The technique registry: name -> Technique (harness.protocols). One line per technique.

Each module keeps its heavy imports (torch, transformers, peft) inside its functions, so
importing the registry is cheap.
"""

from __future__ import annotations

from harness.protocols import Technique
from harness.techniques import distill, distill_control, full, lora, prompt, qlora, rag, rag_lora

REGISTRY: dict[str, Technique] = {}


def register(technique: Technique) -> Technique:
    REGISTRY[technique.name] = technique
    return technique


register(prompt.TECHNIQUE)
register(rag.TECHNIQUE)
register(lora.TECHNIQUE)
register(qlora.TECHNIQUE)
register(full.TECHNIQUE)
register(distill.TECHNIQUE)
register(distill_control.TECHNIQUE)
register(rag_lora.TECHNIQUE)
