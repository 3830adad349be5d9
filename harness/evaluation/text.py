"""Text as the metrics and the retriever see it: CJK-aware tokens, SQuAD normalisation, an
answer's content without the house style.

Chinese (and Japanese, Korean) text has no spaces between words, so CJK characters are
tokens of their own; Latin text is split into words. rouge-score's default tokenizer keeps
only ``[a-z0-9]`` and silently scores Chinese 0, hence :class:`RougeTokenizer`.

Standard library only: an lm-eval task exported by `rightfit suites export --lm-eval` carries
this module verbatim in its utils.py (harness/lmeval/task.py), so lm-eval scores answers with
the very same normalisation wherever it runs.
"""

from __future__ import annotations

import re
import string
import unicodedata

# CJK ideographs (+ extension A, compatibility), kana and hangul.
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(f"[{CJK}]|[^\\W_{CJK}]+")      # one CJK character, or one word
_RUN = re.compile(f"[{CJK}]+|[^\\W_{CJK}]+")       # a run of CJK characters, or one word
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def is_cjk_text(text: str) -> bool:
    return re.search(f"[{CJK}]", text) is not None


def word_runs(text: str) -> list[str]:
    """Lower-cased words and runs of CJK characters, in order."""
    return _RUN.findall(text.lower())


def _strip_punct(text: str) -> str:
    # Unicode punctuation (P*) and symbols (S*) -> space: covers ASCII and full-width Chinese marks.
    return "".join(" " if unicodedata.category(c)[0] in "PS" or c in string.punctuation else c for c in text)


def normalize_answer(text: str) -> list[str]:
    """SQuAD normalisation as tokens: lower case, no punctuation, no English articles, CJK by character.

    For English this equals SQuAD's ``normalize_answer(s).split()``.
    """
    text = _ARTICLES.sub(" ", _strip_punct(unicodedata.normalize("NFKC", text).lower()))
    return _TOKEN.findall(text)


class RougeTokenizer:
    """rouge-score tokenizer that keeps Chinese: CJK characters are tokens, other words as usual.

    On ASCII text it yields exactly rouge-score's default tokens (lower-cased ``[a-z0-9]+``,
    no stemming), so English scores equal the library's own.
    """

    def tokenize(self, text: str) -> list[str]:
        return _TOKEN.findall(text.lower())


def strip_style(prediction: str, rule: dict | None) -> str:
    """The answer's content: the style rule's opening and sign-off removed where present.

    Accuracy metrics score content and the style metric scores form, so a persona-trained model
    that answers "Hi there! price: $95 - ShopCo Support" is judged on "price: $95" for accuracy
    and on the wrapper for style -- neither metric leaks into the other.
    """
    text = prediction.strip()
    if not rule:
        return text
    start, end = (rule.get("starts_with") or "").strip(), (rule.get("ends_with") or "").strip()
    if start and text.startswith(start):
        text = text[len(start):].strip()
    if end and text.endswith(end):
        text = text[:-len(end)].strip()
    return text
