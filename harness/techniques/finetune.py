"""The fine-tuning steps the training techniques share: their data, LoRA adapters, full weights.

Plain functions the technique modules call (LoRA, QLoRA and RAG+LoRA build adapters; full
fine-tuning, distillation and its control train every weight), so each module reads top to
bottom.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.modeling.distributed import is_main
from harness.records import TrainLog
from harness.techniques.candidate import ModelCandidate, candidate_for
from harness.techniques.protocol import BuildContext
from rightfit.errors import UserError

# ---------------------------------------------------------------- settings by model

def train_settings(cfg: Any, model: str) -> Any:
    """cfg.train with every "auto" replaced by the value for `model`.

    The self-built bases are a few million parameters trained on a 732-pair suite: they need high
    rates and many epochs (measured: full fine-tuning learnt 84.7% of the trained facts at 1e-3,
    24.3% at 3e-4; LoRA learnt nothing below 3e-3). A real model needs the usual instruction-tuning
    settings, by size: full fine-tuning 2e-5 below 3B parameters, 1e-5 up to 15B, 5e-6 above
    (Alpaca's 2e-5 for 7B; larger models take smaller steps); LoRA 2e-4 up to 20B and 1e-4 above
    (the QLoRA paper's rates); 3 epochs (Alpaca, QLoRA).
    """
    import dataclasses

    from harness.basemodels.build import is_self_built
    from harness.modeling.load import params_on_disk
    train = cfg.train
    if "auto" not in (train.lr, train.lora_lr, train.epochs):
        return train
    if is_self_built(model):
        lr, lora_lr, epochs = 1e-3, 3e-3, 12.0
    else:
        billions = params_on_disk(model) / 1e9
        lr = 2e-5 if billions < 3 else 1e-5 if billions <= 15 else 5e-6
        lora_lr = 2e-4 if billions <= 20 else 1e-4
        epochs = 3.0
    return dataclasses.replace(train, lr=lr if train.lr == "auto" else train.lr,
                               lora_lr=lora_lr if train.lora_lr == "auto" else train.lora_lr,
                               epochs=epochs if train.epochs == "auto" else train.epochs)


# ---------------------------------------------------------------- training data

def training_data(ctx: BuildContext, tokenizer: Any, pairs: list[dict] | None = None,
                  contexts: list[list[str]] | None = None) -> tuple[list[dict], list[dict]]:
    """(train examples, held-out examples) per cfg.train.data; held-out = the suite's heldout.txt.

    Args:
        pairs: replaces suite.train (black-box distillation trains on the teacher's answers).
        contexts: retrieved chunks per pair (retrieval-aware fine-tuning).
    """
    from harness.modeling.prompts import Prompter, system_message
    from harness.modeling.train import pair_examples, text_examples
    train = ctx.config.train
    examples: list[dict] = []
    if train.data in ("pairs", "both"):
        prompter = Prompter(tokenizer, system_message(ctx.suite, ctx.config))
        examples += pair_examples(tokenizer, pairs if pairs is not None else ctx.suite.train, train.seq_len, contexts,
                                  prompter)
    if train.data in ("docs", "both"):
        examples += text_examples(tokenizer, [ctx.suite.docs[d] for d in sorted(ctx.suite.docs)], train.seq_len)
    text = getattr(ctx.suite, "domain_text", None)
    heldout = text_examples(tokenizer, [text], train.seq_len) if text else []
    return examples, heldout


def model_fields(model: Any, log: TrainLog | None) -> dict:
    from harness.modeling.load import count_params
    trainable, total = count_params(model)
    return {"trainable_params": trainable, "total_params": total, "train": dict(log or {"steps": 0})}


# ---------------------------------------------------------------- adapters (LoRA, QLoRA, RAG+LoRA)

def lora_config(cfg: Any):
    from peft import LoraConfig
    targets = cfg.lora.targets
    return LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout, task_type="CAUSAL_LM",
                      target_modules="all-linear" if targets == "all-linear"
                      else [t.strip() for t in targets.split(",") if t.strip()])


def build_adapter(ctx: BuildContext, four_bit: bool, retriever: Any = None) -> dict:
    """Train a LoRA adapter on ctx.base_model (4-bit NF4 base for QLoRA); saved to out_dir/adapter.

    With a retriever and cfg.rag.train_with_context, each training prompt carries the chunks
    retrieved for its question (retrieval-aware fine-tuning).
    """
    from peft import get_peft_model, prepare_model_for_kbit_training

    from harness.modeling.load import load_model, load_tokenizer
    from harness.modeling.precision import train_precision
    from harness.modeling.prompts import pair_question
    from harness.modeling.train import train
    cfg = ctx.config
    tokenizer = load_tokenizer(ctx.base_model, cfg)
    model = load_model(ctx.base_model, cfg, four_bit=four_bit)  # the frozen base stays in the load dtype
    if four_bit:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    try:  # adapters train in fp32 over a bf16 base unless pure bf16 was asked for
        model = get_peft_model(model, lora_config(cfg),
                               autocast_adapter_dtype=train_precision(cfg.train.precision) != "bf16")
    except ValueError as e:
        raise UserError(f"field 'lora.targets' ({cfg.lora.targets}) does not match the model's modules "
                        f"({str(e).splitlines()[0]}); use all-linear or real module names.") from None
    contexts = None
    if retriever is not None and cfg.rag.train_with_context:
        contexts = [[c.text for c, _ in retriever.search(pair_question(p), cfg.rag.top_k)] for p in ctx.suite.train]
    examples, heldout = training_data(ctx, tokenizer, contexts=contexts)
    settings = train_settings(cfg, ctx.base_model)
    log = train(model, tokenizer, examples, heldout, settings, settings.lora_lr, ctx.seed, ctx.out_dir)
    if is_main():  # under a launcher every process holds the same weights; one writes them
        model.save_pretrained(str(ctx.out_dir / "adapter"), safe_serialization=True)
    return model_fields(model, log)


def load_adapter(artifact_dir: Path, ctx: BuildContext, four_bit: bool):
    """(PeftModel in eval mode, tokenizer) from out_dir/adapter over the base it was trained on."""
    from peft import PeftModel

    from harness.modeling.load import load_model, load_tokenizer, read_manifest
    base = read_manifest(artifact_dir)["base_model"]
    model = PeftModel.from_pretrained(load_model(base, ctx.config, four_bit=four_bit), str(artifact_dir / "adapter"))
    return model.eval(), load_tokenizer(base, ctx.config)


# ---------------------------------------------------------------- full weights (full FT, distillation)

def build_full(ctx: BuildContext, base: str, pairs: list[dict] | None = None, teacher: Any = None,
               temperature: float = 1.0, alpha: float = 0.0) -> dict:
    """Fine-tune every weight of `base` (cfg.train.lr); saved with its tokenizer to out_dir/model."""
    from harness.modeling.load import load_model, load_tokenizer
    from harness.modeling.precision import train_precision
    from harness.modeling.train import train
    cfg = ctx.config
    tokenizer = load_tokenizer(base, cfg)
    # the weights train (and are saved) in fp32 -- master weights under mixed precision -- or in bf16
    model = load_model(base, cfg, dtype="bfloat16" if train_precision(cfg.train.precision) == "bf16" else "float32")
    model.requires_grad_(True)
    examples, heldout = training_data(ctx, tokenizer, pairs=pairs)
    settings = train_settings(cfg, base)
    log = train(model, tokenizer, examples, heldout, settings, settings.lr, ctx.seed, ctx.out_dir,
                teacher=teacher, temperature=temperature, alpha=alpha)
    if is_main():  # under a launcher every process holds the same weights; one writes them
        model.save_pretrained(str(ctx.out_dir / "model"), safe_serialization=True)
        tokenizer.save_pretrained(str(ctx.out_dir / "model"))
    return model_fields(model, log)


def load_full(name: str, artifact_dir: Path, ctx: BuildContext) -> ModelCandidate:
    from harness.modeling.load import load_model, load_tokenizer
    path = str(artifact_dir / "model")
    return candidate_for(name, load_model(path, ctx.config), load_tokenizer(path, ctx.config), ctx)
