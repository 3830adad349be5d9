"""The shared tokenizer of the self-built base models: byte-level BPE with a world-aware split.

The pre-tokenizer keeps spec-sheet keys (``price:``, ``made-in:``, ``价格:``) and prices
(`` $49``, `` ¥49``) as single pieces, so frequent ones become single BPE tokens: reading an
answer from a sheet is then "find the key token, copy the next token". Byte-level, so any
text (Chinese included) encodes without unknown tokens.
"""

from __future__ import annotations

from pathlib import Path

SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]
# a space before a key (so ' price:' and '\nprice:' share the key token) | keys | prices | words | numbers | punctuation | whitespace (GPT-2's split, plus the first two)
SPLIT = r" (?=\p{L}[\p{L}\-]*:)|\p{L}[\p{L}\-]*:| ?[$¥]\p{N}+| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"


def train_tokenizer(texts, vocab_size: int, out: Path, chat: str = ""):
    """Train the BPE on an iterator of texts and save it as a PreTrainedTokenizerFast folder.

    Args:
        chat: a chat template of harness.basemodels.random.CHAT_TEMPLATES ("chatml"): its turn
            markers become special tokens and its template the tokenizer's chat_template.
    """
    from harness.basemodels.random import CHAT_TEMPLATES
    template = CHAT_TEMPLATES[chat] if chat else {"tokens": [], "template": None}
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIALS + template["tokens"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>",
                                   unk_token="<unk>", additional_special_tokens=template["tokens"] or None)
    if template["template"]:
        fast.chat_template = template["template"]
    fast.save_pretrained(str(out))
    return fast


def value_token_report(tok, langs: list[dict]) -> dict:
    """How well the value sets tokenise: keys should be one token, and each attribute's values
    should differ in their first token (then one induction step copies the right value)."""
    from harness.world.vocab import ATTRS
    bad_keys, clashes, multi = [], [], 0
    for lang in langs:
        for a in ATTRS:
            key = lang["keys"][a]
            if len(tok.encode(key, add_special_tokens=False)) != 1:
                bad_keys.append(key)
            firsts = {}
            for v in lang["values"][a]:
                ids = tok.encode(" " + v, add_special_tokens=False)
                multi += len(ids) > 1
                firsts.setdefault(ids[0], []).append(v)
            clashes += [vs for vs in firsts.values() if len(vs) > 1]
    return {"keys_not_single": bad_keys, "first_token_clashes": clashes, "multi_token_values": multi}
