"""A tiny Llama overfitted on a text, for the evaluation tests (perplexity, canaries)."""

from __future__ import annotations

from pathlib import Path

from tinymodels import make_tiny_llama


def overfit_tiny_llama(folder: Path, text: str, steps: int, lr: float = 3e-3, also_without_bos: bool = False):
    """(model in eval mode, tokenizer): a seeded tiny Llama trained `steps` full-batch steps on `text`.

    Args:
        also_without_bos: alternate steps with and without the BOS token in front (scoring reads
            text after BOS; generation prompts without it), so both recall the text.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(1)
    path = make_tiny_llama(folder, seed=0)
    tok = AutoTokenizer.from_pretrained(str(path))
    model = AutoModelForCausalLM.from_pretrained(str(path))
    torch.manual_seed(0)
    plain = tok(text, add_special_tokens=False)["input_ids"]
    variants = [torch.tensor([[tok.bos_token_id] + plain])] + ([torch.tensor([plain])] if also_without_bos else [])
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    for step in range(steps):
        ids = variants[step % len(variants)]
        model(input_ids=ids, labels=ids).loss.backward()
        opt.step()
        opt.zero_grad()
    return model.eval(), tok
