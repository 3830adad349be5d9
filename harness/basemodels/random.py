"""Randomly initialised models with a trained tokenizer: the shapes of a real model without its weights.

Tests and benchmarks build them (nothing is downloaded); a user can build one to try the harness
on a model's shape before bringing the real weights. Stable API:

    make_tiny_tokenizer(path, texts, vocab_size=512) -> Path
    make_tiny_llama(path, tokenizer_texts, hidden=64, layers=2, seed=0, tokenizer_dir=None) -> Path
    make_tiny_pair(dir, texts=None) -> (teacher_path, student_path)   # same tokenizer

Each model folder holds config.json, model.safetensors and the tokenizer files, so
``AutoModelForCausalLM.from_pretrained(path, use_safetensors=True)`` and
``AutoTokenizer.from_pretrained(path)`` load it offline. Same arguments -> same bytes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

DEFAULT_TEXTS = [
    "Question: What is the capital of France?\nAnswer: Paris",
    "Question: How many days does a refund take?\nAnswer: 14 days",
    "Context:\nThe warranty lasts two years.\nQuestion: How long is the warranty?\nAnswer: two years",
    "The quick brown fox jumps over the lazy dog. 0123456789",
    "退货需要十四天。保修期为两年。请问有什么可以帮您？",
    "Hi there! Thanks for asking. - ShopCo Support",
]

SPECIAL = {"bos": "<s>", "eos": "</s>", "pad": "<pad>", "unk": "<unk>"}

# Chat templates as real instruct models ship them (Jinja, rendered by apply_chat_template).
# ChatML is Qwen's (and many others'); the Llama-3 one brings its own BOS and <|eot_id|>.
CHAT_TEMPLATES = {
    "chatml": {
        "tokens": ["<|im_start|>", "<|im_end|>"],
        "template": ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] "
                     "+ '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}"
                     "{{ '<|im_start|>assistant\n' }}{% endif %}"),
    },
    "llama3": {
        "tokens": ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
        "template": ("{{ '<|begin_of_text|>' }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] "
                     "+ '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
                     "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"),
    },
}


def make_tiny_tokenizer(path: str | Path, texts: list[str] | None = None, vocab_size: int = 512,
                        chat: str | None = None) -> Path:
    """Train a byte-level BPE on `texts` and save it as a PreTrainedTokenizerFast folder.

    Args:
        path: folder to write (created).
        texts: training texts; DEFAULT_TEXTS when None.
        vocab_size: target vocabulary size (byte alphabet 256 + merges + 4 specials).
        chat: a chat template of CHAT_TEMPLATES ("chatml", "llama3") with its special tokens, or
            None for a plain tokenizer.

    Returns:
        The folder.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    extra = CHAT_TEMPLATES[chat]["tokens"] if chat else []
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL.values()) + extra,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(list(texts or DEFAULT_TEXTS), trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=SPECIAL["bos"], eos_token=SPECIAL["eos"],
                                   pad_token=SPECIAL["pad"], unk_token=SPECIAL["unk"],
                                   additional_special_tokens=extra or None)
    if chat:
        fast.chat_template = CHAT_TEMPLATES[chat]["template"]
    fast.save_pretrained(str(path))
    return path


def make_tiny_llama(path: str | Path, tokenizer_texts: list[str] | None = None, hidden: int = 64, layers: int = 2,
                    seed: int = 0, tokenizer_dir: str | Path | None = None, max_positions: int = 512,
                    chat: str | None = None) -> Path:
    """Build a randomly initialised LlamaForCausalLM (seeded) with its tokenizer in `path`.

    Args:
        path: folder to write.
        tokenizer_texts: texts to train the tokenizer on (ignored when `tokenizer_dir` is given).
        hidden: hidden size; heads = hidden // 16, intermediate = 2 * hidden.
        layers: decoder layers.
        seed: torch seed for the weights.
        tokenizer_dir: reuse the tokenizer saved there (so two models share a vocabulary).
        max_positions: context window (max_position_embeddings).
        chat: give the tokenizer a chat template (CHAT_TEMPLATES key) as an instruct model has.

    Returns:
        The folder.
    """
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    if tokenizer_dir is None:
        make_tiny_tokenizer(path, tokenizer_texts, chat=chat)
    elif Path(tokenizer_dir).resolve() != path.resolve():
        for f in Path(tokenizer_dir).iterdir():
            if f.name.startswith(("tokenizer", "special_tokens", "chat_template")):
                shutil.copy2(f, path / f.name)
    tok = AutoTokenizer.from_pretrained(str(path))
    heads = max(1, hidden // 16)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                         max_position_embeddings=max_positions, bos_token_id=tok.bos_token_id,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, tie_word_embeddings=False)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    torch.random.set_rng_state(generator_state)
    model.save_pretrained(str(path), safe_serialization=True)
    return path


def make_tiny_pair(dir: str | Path, texts: list[str] | None = None, chat: str | None = None) -> tuple[Path, Path]:
    """A teacher (hidden 96, 2 layers) and a student (hidden 64, 2 layers) sharing one tokenizer.

    Returns:
        (teacher_path, student_path) under `dir`.
    """
    dir = Path(dir)
    teacher = make_tiny_llama(dir / "teacher", texts, hidden=96, layers=2, seed=1, chat=chat)
    student = make_tiny_llama(dir / "student", hidden=64, layers=2, seed=2, tokenizer_dir=teacher)
    return teacher, student


# Shapes of real model families at sizes this machine can hold (hidden, layers, heads, kv heads,
# intermediate, vocab, context). "llama-134m" is the shape the evaluation and memory benchmarks
# use: hidden 768, 12 layers, a 32k vocabulary, like a small real Llama.
SHAPES = {
    "llama-20m": (256, 4, 4, 4, 688, 32000, 2048, "llama"),
    "llama-60m": (512, 6, 8, 8, 1376, 32000, 2048, "llama"),
    "llama-134m": (768, 12, 12, 12, 2048, 32000, 2048, "llama"),
    "qwen2-100m": (640, 10, 10, 2, 1728, 32000, 4096, "qwen2"),
}


def make_random_model(path: str | Path, shape: str = "llama-134m", chat: str | None = "chatml",
                      dtype: str = "bfloat16", seed: int = 0, texts: list[str] | None = None) -> Path:
    """A randomly initialised model with a real family's shapes, dtype and chat template, saved as
    a Hugging Face folder (config.json with its torch_dtype, model.safetensors, tokenizer files).

    Its answers are noise; its memory, speed and formats are those of a real instruct model of
    the shape, which is what the benchmarks and the bring-your-own-model tests need.

    Args:
        shape: a key of SHAPES.
        chat: its tokenizer's chat template (CHAT_TEMPLATES key), or None.
        dtype: the dtype the weights are stored in ("bfloat16", "float32").
        texts: tokenizer training texts; by default the English prose that ships in tasks/ (the
            bundled suites' documents and held-out texts), so text splits into about as many
            tokens as a real tokenizer makes of it. The embedding keeps the shape's vocabulary size.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    hidden, layers, heads, kv_heads, ffn, vocab, context, family = SHAPES[shape]
    path = Path(path)
    make_tiny_tokenizer(path, texts or _shipped_prose(), vocab_size=min(vocab, 8000), chat=chat)
    tok = AutoTokenizer.from_pretrained(str(path))
    config = AutoConfig.for_model(family, vocab_size=vocab, hidden_size=hidden, intermediate_size=ffn,
                                  num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv_heads,
                                  max_position_embeddings=context, bos_token_id=tok.bos_token_id,
                                  eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                                  tie_word_embeddings=False, torch_dtype=dtype)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config).to(getattr(torch, dtype))
    torch.random.set_rng_state(generator_state)
    model.save_pretrained(str(path), safe_serialization=True)
    return path


def _shipped_prose() -> list[str]:
    """English text that ships with the project: the bundled suites' docs and held-out texts."""
    from rightfit import REPO_ROOT
    files = sorted((REPO_ROOT / "tasks").glob("*-en/docs/*")) + sorted((REPO_ROOT / "tasks").glob("*-en/**/*.txt"))
    return [f.read_text(encoding="utf-8") for f in files if f.is_file()] or list(DEFAULT_TEXTS)
