"""The self-built base models: a shared tokenizer, a teacher and a smaller student Llama.

    paths = ensure_base_models("default")     # {"teacher": Path, "student": Path}; built once
    path = resolve_base_model("tiny")         # "default"/"tiny" -> teacher folder; else unchanged

Both are trained on the general corpus only (harness.world.corpus; the domain company never
appears there) and saved as ordinary Hugging Face folders (config.json, model.safetensors,
tokenizer files) under ``.rightfit/models/<size>-<hash>/{teacher,student}``, where the hash
covers the build spec and the corpus text, so a changed recipe builds a new folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.world.corpus import MIX
from rightfit import REPO_ROOT, ui
from rightfit.errors import UserError

RECIPE_VERSION = 2  # bump when the code (not the spec) changes what a build produces


@dataclass(frozen=True)
class LMShape:
    hidden: int
    layers: int
    heads: int
    ffn: int
    steps: int
    batch_size: int
    lr: float


@dataclass(frozen=True)
class BaseSpec:
    """Everything a base build depends on (hashed into its cache key)."""
    world: str                      # general-world size in harness.world.SIZES
    teacher: LMShape
    student: LMShape
    langs: dict = field(default_factory=lambda: {"en": 0.8, "zh": 0.2})  # share of pretraining rows
    mix: dict = field(default_factory=lambda: dict(MIX))  # share of each row kind (harness.world.corpus)
    rows: int = 40_000              # pretraining rows generated (cycled when steps need more)
    vocab_size: int = 4000
    max_len: int = 256
    seed: int = 0
    eval_every: int = 100
    flat_share: float = 0.0         # share of steps at full learning rate before the cosine decay
    chat: str = ""                  # chat template the question-answer rows are written in ("" = plain)


_MIX = {"drill": 0.35, "rival": 0.10, "echo": 0.15, "copy": 0.05, "contra": 0.05, "closed": 0.20, "doc": 0.10}
SPECS = {
    # tiny: what tests can afford (under a minute on 2 cores), and it still reads: the teacher
    # switches reading on at ~900 steps with this learning rate (1,000 steps at 3e-3 did not).
    "tiny": BaseSpec(world="tiny", rows=17_600, vocab_size=4000, eval_every=550, mix=_MIX, flat_share=0.75,
                     teacher=LMShape(hidden=64, layers=2, heads=4, ffn=192, steps=1100, batch_size=16, lr=4e-3),
                     student=LMShape(hidden=32, layers=2, heads=2, ffn=96, steps=1100, batch_size=16, lr=3e-3)),
    # default: the teacher's reading switches on at ~1,000 steps with the learning rate held
    # flat for 75% of the run (cosine decay from the start left it at 56% with-doc accuracy
    # within the 5-minute budget). The student trains beside the teacher in a second process.
    # default is a chat model, as every user's instruct model is: its question-answer rows are
    # ChatML conversations (the rest stays plain text, as pretraining text is), and its tokenizer
    # carries the template, so `make demo` runs the path a real model takes.
    "default": BaseSpec(world="default", rows=50_000, vocab_size=4000, eval_every=200, mix=_MIX,
                        langs={"en": 0.85, "zh": 0.15}, flat_share=0.75, chat="chatml",
                        teacher=LMShape(hidden=128, layers=3, heads=4, ffn=384, steps=1800, batch_size=16, lr=2e-3),
                        student=LMShape(hidden=64, layers=3, heads=4, ffn=192, steps=3000, batch_size=16, lr=3e-3)),
}


def models_root() -> Path:
    return Path(os.environ.get("RIGHTFIT_MODELS", REPO_ROOT / ".rightfit" / "models"))


def _spec(size: str) -> BaseSpec:
    if size not in SPECS:
        raise UserError(f"base model size '{size}' is unknown; use one of {', '.join(SPECS)}.")
    return SPECS[size]


# ChatML as harness.basemodels.random.CHAT_TEMPLATES["chatml"] renders it: each message is
# "<|im_start|>{role}\n{content}<|im_end|>\n", and the prompt for an answer ends with the
# assistant's header (tests/test_basemodels.py checks this against apply_chat_template).
CHATML_TURN = "<|im_start|>{role}\n{content}<|im_end|>\n"
CHATML_ANSWER = "<|im_start|>assistant\n"
CHATML_END = "<|im_end|>"
# system messages a chat row may open with (a third of them), so a suite's persona is a format the
# model has seen, not a stranger in front of the question
SYSTEMS = {"en": ["You are a helpful assistant.", "You are a shop assistant. Answer briefly.",
                  "Answer from the product sheets when they are given."],
           "zh": ["你是一个乐于助人的助手。", "你是商店的客服，请简短回答。", "如果提供了产品说明，请根据说明回答。"]}


def to_chat(segs: list, rng: random.Random | None = None, lang: str = "en") -> list:
    """A row's question-answer turns as a ChatML conversation; other rows unchanged.

    A plain turn is ("...Question: q\nAnswer:", untrained), (" answer", trained) and optionally
    EOS; it becomes the user turn and the assistant's header (untrained), the answer and the end
    of turn (trained), and the newline after it (untrained), as the template writes them.
    """
    from harness.modeling.prompts import ANSWER
    from harness.world.corpus import EOS
    tail = "\n" + ANSWER
    if not segs or not isinstance(segs[0][0], str) or not segs[0][0].endswith(tail) or segs[0][1]:
        return segs
    out: list = []
    if rng is not None and rng.random() < 1 / 3:
        out.append((CHATML_TURN.format(role="system", content=rng.choice(SYSTEMS[lang])), False))
    i = 0
    while i < len(segs):
        prompt, answer = segs[i][0], segs[i + 1][0]
        out.append((CHATML_TURN.format(role="user", content=prompt[:-len(tail)]) + CHATML_ANSWER, False))
        out += [(answer.strip(), True), (CHATML_END, True), ("\n", False)]
        i += 3 if i + 2 < len(segs) and segs[i + 2][0] == EOS else 2
    return out


def corpus_rows(spec: BaseSpec, n: int, seed_tag: str) -> list[list]:
    """`n` pretraining rows (segment lists), languages mixed by `spec.langs`, kinds by `spec.mix`,
    question-answer rows written as conversations when the spec is a chat model."""
    from harness.world import general_world
    from harness.world.corpus import make_row
    from harness.world.vocab import LANGS
    rng = random.Random(f"corpus:{seed_tag}:{spec.seed}")
    worlds = {lang: general_world(lang, spec.world, spec.seed) for lang in spec.langs}
    names, weights = list(spec.langs), list(spec.langs.values())
    out = []
    for _ in range(n):
        lang = rng.choices(names, weights=weights)[0]
        segs = make_row(rng, LANGS[lang], worlds[lang], spec.mix)[1]
        out.append(to_chat(segs, rng, lang) if spec.chat else segs)
    return out


def eval_rows(spec: BaseSpec) -> dict[str, list]:
    """Held-out checks for the training curve: fresh reading drills, and closed-book questions
    about the general world in the held-out wordings (4..5)."""
    from harness.world import general_world
    from harness.world.corpus import drill_row, rival_row
    from harness.world.entities import question
    from harness.world.vocab import ATTRS, EN
    rng = random.Random(f"eval:{spec.seed}")
    drills = []
    for _ in range(128):
        segs = drill_row(rng, EN)
        drills.append(segs[:3])  # the context and the first question only
    rivals = [rival_row(rng, EN)[:3] for _ in range(128)]
    world = general_world("en", spec.world, spec.seed)
    closed = []
    for i in range(128):
        p, a = world[i % len(world)], ATTRS[rng.randrange(len(ATTRS))]
        from harness.modeling.prompts import plain_prompt as format_prompt
        from harness.world.entities import answer_line
        closed.append([(format_prompt(question(EN, a, p, 4 + i % 2)), False),
                       (" " + answer_line(EN, a, p.facts[a]), True)])
    rows = {"drill_acc": drills, "rival_acc": rivals, "closed_acc": closed}
    if spec.chat:
        rows = {k: [to_chat(r) for r in v] for k, v in rows.items()}
    return rows


def _digest(spec: BaseSpec, rows: list[list]) -> str:
    from harness.world.corpus import row_text
    h = hashlib.sha256(json.dumps({"spec": asdict(spec), "recipe": RECIPE_VERSION}, sort_keys=True).encode())
    for segs in rows:
        h.update(row_text(segs).encode())
    return h.hexdigest()[:12]


def _make_lm(shape: LMShape, tok, max_len: int, seed: int):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=shape.hidden, intermediate_size=shape.ffn,
                      num_hidden_layers=shape.layers, num_attention_heads=shape.heads,
                      num_key_value_heads=shape.heads, max_position_embeddings=max_len,
                      tie_word_embeddings=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      pad_token_id=tok.pad_token_id)
    return LlamaForCausalLM(cfg)


def _train_role(role: str, spec: BaseSpec, size: str, folder: Path, encoded: list, evals: dict,
                threads: int, quiet: bool) -> dict:
    """Pretrain one model of the build and save it (with the tokenizer) into folder/role.

    Runs in a spawned worker with the kernels pinned (see build_base_models), on its own
    `threads`, so the two train side by side on two cores and each gives the same bytes as a
    build that trains them one after the other."""
    import torch
    from transformers import AutoTokenizer

    from harness.basemodels.pretrain import train_lm
    torch.set_num_threads(threads)
    ui.set_quiet(quiet)
    tok = AutoTokenizer.from_pretrained(str(folder / "tokenizer"))
    shape = getattr(spec, role)
    model = _make_lm(shape, tok, spec.max_len, spec.seed)
    log = {"params": sum(p.numel() for p in model.parameters())}
    log.update(train_lm(model, encoded, shape.steps, shape.batch_size, shape.lr, spec.seed,
                        tok.pad_token_id, evals, spec.eval_every, f"{role} ({size})",
                        spec.flat_share))
    model.save_pretrained(str(folder / role), safe_serialization=True)
    tok.save_pretrained(str(folder / role))
    return log


# CPU kernels the base models are trained with. torch dispatches to AVX512 code where the CPU
# has it and to AVX2 code elsewhere, and MKL does the same; the two give different roundings,
# and over a few thousand steps different models (the tiny teacher read 81% of its suite built
# with AVX2 kernels, 64% with AVX512 ones, on the same machine). Pinned to AVX2, which every
# x86-64 CPU of the last decade has, a build gives the same bytes on any of them: on an
# AVX512/AMX machine it reproduces the committed default copy byte for byte.
PINNED_KERNELS = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
                  "ONEDNN_MAX_CPU_ISA": "AVX2"}


def pinned_kernels() -> dict[str, str]:
    """The environment that pins the CPU kernels (empty where the CPU is not x86-64 with AVX2)."""
    import platform
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return {}
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    return dict(PINNED_KERNELS) if " avx2" in flags else {}


def _in_workers(jobs: list[list[tuple]], env: dict[str, str]) -> list[list[dict]]:
    """Run each list of `_train_role` argument tuples in its own spawned process, the lists side
    by side; each worker starts with `env` set, so its torch picks its kernels from it."""
    import concurrent.futures
    import multiprocessing
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(len(jobs), mp_context=ctx) as pool:
            futures = [pool.submit(_train_roles, job) for job in jobs]
            return [f.result() for f in futures]
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _train_roles(job: list[tuple]) -> list[dict]:
    return [_train_role(*args) for args in job]


def build_base_models(size: str = "default", out: Path | None = None, spec: BaseSpec | None = None,
                      parallel: bool | None = None) -> dict:
    """Train tokenizer, teacher and student; write them into `out` (a new folder). Returns the build log.

    Both models train in spawned processes with the CPU kernels pinned (PINNED_KERNELS), each
    on 1 thread (RIGHTFIT_THREADS), so the bytes depend neither on the machine nor on
    `parallel` (default: when the machine has 2+ cores, the teacher and the student train side
    by side; else one after the other in one process)."""
    from harness.basemodels.pretrain import encode_rows
    from harness.basemodels.tokenizer import train_tokenizer, value_token_report
    from harness.world.corpus import row_text
    from harness.world.vocab import LANGS

    spec = spec or _spec(size)
    threads = int(os.environ.get("RIGHTFIT_THREADS", "1"))  # 1: same bytes on any machine
    if parallel is None:
        parallel = (os.cpu_count() or 1) >= 2
    t0, cpu0 = time.time(), time.process_time()
    rows = corpus_rows(spec, spec.rows, "train")
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tok = train_tokenizer((row_text(r) for r in rows[:20_000]), spec.vocab_size, tmp / "tokenizer", spec.chat)
    log = {"size": size, "spec": asdict(spec), "recipe": RECIPE_VERSION,
           "tokenizer": value_token_report(tok, [LANGS[x] for x in spec.langs])}
    bos = not spec.chat  # a chat template starts with its own turn marker, as Qwen's has no BOS
    encoded = encode_rows(tok, rows, spec.max_len, bos)
    evals = {k: encode_rows(tok, v, spec.max_len, bos) for k, v in eval_rows(spec).items()}
    log["corpus"] = {"rows": len(rows), "tokens": sum(len(a) for a, _ in encoded),
                     "trained_tokens": sum(sum(x != -100 for x in b) for _, b in encoded)}
    log["prepare_seconds"] = round(time.time() - t0, 1)
    args = (spec, size, tmp, encoded, evals, threads)
    teacher, student = ("teacher", *args, ui.QUIET), ("student", *args, True)
    env = pinned_kernels()
    if parallel:
        (log["teacher"],), (log["student"],) = _in_workers([[teacher], [student]], env)
    else:
        ((log["teacher"], log["student"]),) = _in_workers([[teacher, ("student", *args, ui.QUIET)]], env)
    log["kernels"] = env or "native"
    log["parallel"] = parallel
    shutil.rmtree(tmp / "tokenizer")
    log["seconds"] = round(time.time() - t0, 1)
    log["cpu_seconds"] = round(time.process_time() - cpu0, 1)  # this process only: preparing, not training
    (tmp / "build.json").write_text(json.dumps(log, indent=1))
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return log


def cache_dir(size: str) -> Path:
    """Where `size` is (or will be) built: keyed by the spec and the corpus."""
    spec = _spec(size)
    return models_root() / f"{size}-{_digest(spec, corpus_rows(spec, 2000, 'train'))}"


def prebuilt_dir(size: str) -> Path:
    """A committed copy of a build (same recipe hash as the cache), reproduced by `rightfit base build`."""
    return REPO_ROOT / "models" / cache_dir(size).name


def models_dir(size: str) -> Path:
    """The folder the models of `size` are used from: the cache, else the committed copy, else
    the cache folder that a build will fill."""
    cached, committed = cache_dir(size), prebuilt_dir(size)
    if not (cached / "build.json").exists() and (committed / "build.json").exists():
        return committed
    return cached


def ensure_base_models(size: str = "default", force: bool = False) -> dict:
    """Build the base models of `size` unless cached; return {"teacher": Path, "student": Path}.

    Order: the cache (.rightfit/models/<size>-<hash>), then the committed copy under models/
    with the same hash, then a fresh build into the cache. `force` always rebuilds.
    """
    out = cache_dir(size) if force else models_dir(size)
    if force or not (out / "build.json").exists():
        ui.info(f"building the {size} base models into {out} (once; cached afterwards)")
        build_base_models(size, out)
    return {"teacher": out / "teacher", "student": out / "student"}


def is_self_built(model: str) -> bool:
    """Whether `model` is one of the self-built base models (a build folder's teacher or student)."""
    folder = Path(model)
    return folder.name in ("teacher", "student") and (folder.parent / "build.json").is_file()


def resolve_base_model(name: str, role: str = "teacher") -> str:
    """Map 'default'/'tiny' (optionally 'tiny-student') to a built folder; other names pass through."""
    base, _, suffix = name.partition("-")
    if base in SPECS and suffix in ("", "teacher", "student"):
        return str(ensure_base_models(base)[suffix or role])
    return name
