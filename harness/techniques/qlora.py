"""QLoRA (Dettmers et al. 2023, https://arxiv.org/abs/2305.14314): LoRA over a 4-bit NF4 base.

bitsandbytes >= 0.45 runs 4-bit layers on the CPU too; without it the build stops with a
one-sentence error (harness.modeling.load.load_model). The adapter is trained and reloaded over
the base quantised the same way.
"""

from harness.techniques.lora import Lora

TECHNIQUE = Lora("qlora", four_bit=True)
