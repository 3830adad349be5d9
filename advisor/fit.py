"""What the advice says about fit, in English and Chinese: the variant a technique is built in,
why a technique does not fit, and what would make it fit (numbers from advisor/sizing.py)."""

from __future__ import annotations

from advisor import sizing
from advisor.sizing import CPU_TRAIN_MAX_B, GPU_SIZES, MAX_SHARDS, Sizing

NAMES = {  # technique (or technique:method) -> what is built, (en, zh)
    "prompt": ("the base model prompted as it is", "基座模型原样加提示词"),
    "rag": ("the base model with a retrieval index over your documents", "基座模型加文档检索索引"),
    "lora": ("LoRA (rank 8) on the frozen base", "在冻结的基座上训练 LoRA（秩 8）"),
    "qlora": ("QLoRA: LoRA (rank 8) on a 4-bit NF4 base", "QLoRA：在 4-bit NF4 基座上训练 LoRA（秩 8）"),
    "rag_lora": ("LoRA (rank 8) trained with retrieved passages, plus the retrieval index",
                 "用检索段落训练的 LoRA（秩 8），加检索索引"),
    "full:full": ("full fine-tuning in mixed precision (fp32 master weights and Adam states, bf16 compute: "
                  "16 bytes per parameter)", "混合精度全量微调（fp32 主权重和 Adam 状态，bf16 计算：每参数 16 字节）"),
    "full:full_bf16": ("full fine-tuning in pure bf16 (weights and Adam states in bf16: 8 bytes per parameter)",
                       "纯 bf16 全量微调（权重和 Adam 状态均为 bf16：每参数 8 字节）"),
    "full:cpu": ("full fine-tuning", "全量微调"),
    "distill": ("black-box distillation: the {model:g}B teacher fine-tuned in full, then a {student:g}B student "
                "trained in full on its answers", "黑盒蒸馏：先全量微调 {model:g}B 教师模型，再用它的回答全量训练 "
                "{student:g}B 学生模型"),
}
TEXT = {
    "gpu": (", activation checkpointing: about {gb:.3g} GB per GPU", "，激活检查点：每张 GPU 约 {gb:.3g} GB"),
    "sharded": (", sharded over {n} GPUs (FSDP/ZeRO-3)", "，分片到 {n} 张 GPU 上（FSDP/ZeRO-3）"),
    "bf16_student": (", the student in pure bf16", "，学生模型用纯 bf16"),
    "bf16_teacher": (", the teacher in pure bf16 (mixed precision does not fit)", "，教师模型用纯 bf16（混合精度放不下）"),
    "cpu": (", on a CPU in fp32 (train.precision auto)", "，在 CPU 上以 fp32 训练（train.precision auto）"),
    "too_big": ("needs about {need:.3g} GB per GPU, more than {gpus}", "每张 GPU 约需 {need:.3g} GB，超过了{gpus}"),
    "one_gpu": ("the {have:.3g} GB GPU", " {have:.3g} GB 的显卡"),
    "n_gpus": ("the {have:.3g} GB of each of {n} GPUs, even sharded", "分片到 {n} 张显卡后每张的 {have:.3g} GB"),
    "teacher_too_big": ("its {model:g}B teacher must first be fine-tuned in full, which needs about {need:.3g} GB per "
                        "GPU, more than {have:.3g} GB", "需要先全量微调 {model:g}B 的教师模型，每张 GPU 约需 {need:.3g} GB，"
                        "超过 {have:.3g} GB"),
    "cpu_slow": ("on a CPU, training a {size:g}B model takes weeks (at most {max:g}B trains in days)",
                 "在 CPU 上训练 {size:g}B 的模型需要数周（{max:g}B 及以下才能在几天内训练完）"),
    "device": ("needs about {need:.3g} GB on the device at 4-bit, which has {have:.3g} GB",
               "以 4-bit 在设备上约需 {need:.3g} GB，而设备只有 {have:.3g} GB"),
    "fix_qlora": ("QLoRA, the same adapter on a 4-bit base: about {gb:.3g} GB per GPU",
                  "QLoRA（同样的适配器，4-bit 基座）：每张 GPU 约 {gb:.3g} GB"),
    "fix_qlora_gpu": ("QLoRA on a {size:g} GB GPU (the same adapter on a 4-bit base, about {gb:.3g} GB)",
                      "在 {size:g} GB 显存的 GPU 上用 QLoRA（同样的适配器，4-bit 基座，约 {gb:.3g} GB）"),
    "fix_model": ("a model of at most {size:g}B", "不超过 {size:g}B 的模型"),
    "fix_teacher": ("a teacher of at most {size:g}B", "不超过 {size:g}B 的教师模型"),
    "fix_student": ("a student of at most {size:g}B", "不超过 {size:g}B 的学生模型"),
    "fix_gpu": ("a {gb:.3g} GB GPU", "一张 {gb:.3g} GB 显存的 GPU"),
    "fix_gpus": ("{n} GPUs of {gb:.3g} GB with the model sharded across them (FSDP/ZeRO-3)",
                 "{n} 张 {gb:.3g} GB 的 GPU，并把模型分片到各卡（FSDP/ZeRO-3）"),
    "fix_a_gpu": ("a GPU: a {gb:.3g} GB GPU fits it", "一张 GPU：{gb:.3g} GB 显存即可"),
    "fix_distil": ("distillation into a student of at most {size:g}B", "蒸馏到不超过 {size:g}B 的学生模型"),
    "fix_device": ("a device with at least {gb:.3g} GB for the model", "能给模型至少 {gb:.3g} GB 内存的设备"),
    "fix_server": ("serving it from a server instead of the device", "改为在服务器上提供服务，而不是端侧"),
}
LANG = {"en": 0, "zh": 1}


def _both(key: str, table: dict = TEXT, **values) -> dict[str, str]:
    return {lang: table[key][i].format(**values) for lang, i in LANG.items()}


def variant(technique: str, s: Sizing) -> dict:
    """What the run builds for `technique` on this hardware: {"method", "gb", "text": {en, zh}}."""
    t = sizing.training(technique, s)
    method = t["method"]
    key = technique if technique != "full" else f"full:{'cpu' if s.cpu else method}"
    text = _both(key, NAMES, model=s.model_b, student=s.student_b)
    if technique == "distill" and not s.cpu:
        if t["teacher"]["method"] == "full_bf16":
            text = _join(text, _both("bf16_teacher"))
        if method == "full_bf16":
            text = _join(text, _both("bf16_student"))
    if technique in sizing.METHODS:
        extra = (_both("cpu") if s.cpu else
                 _join(_both("gpu", gb=t["gb"]), _both("sharded", n=s.gpu_count) if s.gpu_count > 1 else None))
        text = {lang: text[lang] + extra[lang] for lang in LANG}
    return {"method": method, "gb": t["gb"], "text": text}


def _join(a: dict, b: dict | None) -> dict:
    return a if b is None else {lang: a[lang] + b[lang] for lang in LANG}


def why_not(technique: str, s: Sizing) -> list[dict[str, str]]:
    """One sentence per hardware limit `technique` breaks (empty when it fits)."""
    out = []
    t = sizing.training(technique, s)
    if not t["fits"]:
        if s.cpu:
            size = max(s.model_b, s.student_b) if technique == "distill" else s.model_b
            out.append(_both("cpu_slow", size=size, max=CPU_TRAIN_MAX_B))
        elif technique == "distill" and not t["teacher"]["fits"]:
            out.append(_both("teacher_too_big", model=s.model_b, need=t["teacher"]["gb"], have=s.gpu_gb))
        else:
            gpus = _both("one_gpu", have=s.gpu_gb) if s.gpu_count == 1 else \
                _both("n_gpus", have=s.gpu_gb, n=s.gpu_count)
            out.append({lang: TEXT["too_big"][i].format(need=t["gb"], gpus=gpus[lang]) for lang, i in LANG.items()})
    d = sizing.device(technique, s)
    if not d["fits"]:
        out.append(_both("device", need=d["gb"], have=s.device_gb))
    return out


def fixes(technique: str, s: Sizing) -> list[dict[str, str]]:
    """What would make `technique` fit, most direct first: QLoRA for LoRA, a smaller model, a
    bigger GPU or several sharded ones, a GPU at all; on a device, a smaller student or device."""
    out = []
    t = sizing.training(technique, s)
    if not t["fits"]:
        if technique in ("lora", "rag_lora"):
            out += _qlora(s)
        out += _smaller(technique, s, t)
        if s.cpu:
            gb = next((g for g in GPU_SIZES if sizing.training(technique, s, gpu_gb=g, gpus=1)["fits"]), None)
            if gb is not None:
                out.append(_both("fix_a_gpu", gb=gb))
        else:
            out += _more_gpu(technique, s)
    d = sizing.device(technique, s)
    if not d["fits"]:
        if technique == "distill":
            size = sizing.largest(lambda b: sizing.device(technique, s, student_b=b)["fits"], 0.001, s.student_b)
            if size:
                out.append(_both("fix_student", size=size))
        else:
            size = sizing.largest(lambda b: sizing.device(technique, s, model_b=b)["fits"], 0.001, s.model_b)
            if size:
                out.append(_both("fix_distil", size=size))
        out.append(_both("fix_device", gb=d["gb"]))
        if technique != "distill":
            out.append(_both("fix_server"))
    return out


def _qlora(s: Sizing) -> list[dict[str, str]]:
    """QLoRA in place of LoRA: on this GPU if it fits, else on the smallest single GPU it fits."""
    here = sizing.training("qlora", s)
    if here["fits"]:
        return [_both("fix_qlora", gb=here["gb"])]
    for gb in GPU_SIZES:
        there = sizing.training("qlora", s, gpu_gb=gb)
        if gb > s.gpu_gb and there["fits"]:
            return [_both("fix_qlora_gpu", size=gb, gb=there["gb"])]
    return []


def _smaller(technique: str, s: Sizing, t: dict) -> list[dict[str, str]]:
    if s.cpu:
        return [_both("fix_model", size=CPU_TRAIN_MAX_B)]
    if technique == "distill" and t["teacher"]["fits"]:
        size = sizing.largest(lambda b: sizing.training(technique, s, student_b=b)["fits"], 0.001, s.student_b)
        return [_both("fix_student", size=size)] if size else []
    key = "fix_teacher" if technique == "distill" else "fix_model"
    size = sizing.largest(lambda b: sizing.training(technique, s, model_b=b)["fits"], 0.001, s.model_b)
    return [_both(key, size=size)] if size else []


def _more_gpu(technique: str, s: Sizing) -> list[dict[str, str]]:
    for gb in GPU_SIZES:
        if gb > s.gpu_gb and sizing.training(technique, s, gpu_gb=gb)["fits"]:
            return [_both("fix_gpu", gb=gb) if s.gpu_count == 1 else _both("fix_gpus", n=s.gpu_count, gb=gb)]
    gb = max(s.gpu_gb, GPU_SIZES[-2])
    n = 2
    while n <= MAX_SHARDS:
        if n > s.gpu_count and sizing.training(technique, s, gpu_gb=gb, gpus=n)["fits"]:
            return [_both("fix_gpus", n=n, gb=gb)]
        n *= 2
    return []
