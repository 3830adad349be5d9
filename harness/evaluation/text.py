"""Text as the metrics and the retriever see it: CJK-aware tokens and SQuAD normalisation.

Chinese (and Japanese, Korean) text has no spaces between words, so CJK characters are
tokens of their own; Latin text is split into words. rouge-score's default tokenizer keeps
only ``[a-z0-9]`` and silently scores Chinese 0, hence :class:`RougeTokenizer`.
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
