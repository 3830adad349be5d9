"""What `suites new` infers when the user did not say: a question's gold source, its kind, the language.

Every inference is a guess and is marked as one (a test row's ``"inferred"`` list), so the
validator and the user can tell a gold the user gave from one rightfit guessed.

Gold source: the doc that contains the answer; when several do, the one whose passage around
the answer shares the most question words, each word weighted by its rarity across the docs
(IDF). A whole long page shares many words with any question, so comparing whole docs picks
the longest page; the passage where the answer is stated is what the question is about.
"""

from __future__ import annotations

import math
import re
import unicodedata

QUESTION_WORDS = {"what", "which", "when", "where", "who", "whom", "whose", "why", "how", "does", "did",
                  "the", "are", "was", "were", "can", "for", "with", "about", "many", "much", "there",
                  "and", "you", "your", "that", "this", "from", "into", "have", "has", "not", "its", "but"}
PASSAGE = 500  # characters either side of an answer's occurrence that make its passage (~80 English words)


def norm(text: str) -> str:
    """Casefolded, NFKC, whitespace collapsed: for finding an answer inside a doc."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def words(text: str) -> set[str]:
    """Crude content words: the first 4 letters of each word longer than 2 that is not a
    question word ("returns" and "return" meet), plus each CJK character (no spaces in Chinese)."""
    out = set()
    for word in re.findall(r"\w+", norm(text)):
        if word.isascii():
            if len(word) > 2 and word not in QUESTION_WORDS:
                out.add(word[:4])
        else:
            out.update(c for c in word if not c.isascii())
    return out


def overlap(question: str, text: str) -> float:
    """Share of the question's content words that `text` also has (0..1)."""
    mine = words(question)
    return len(mine & words(text)) / len(mine) if mine else 0.0


class GoldFinder:
    """Finds the doc that states an answer, for many questions over one set of docs.

    Args:
        docs: doc id -> text.
    """

    def __init__(self, docs: dict[str, str]):
        self.docs = {d: norm(t) for d, t in docs.items()}
        df: dict[str, int] = {}
        for text in self.docs.values():
            for w in words(text):
                df[w] = df.get(w, 0) + 1
        n = len(self.docs)
        self.idf = {w: math.log(1 + n / c) for w, c in df.items()}  # a word in every doc still counts a little

    def holders(self, answers: list[str]) -> list[str]:
        """Docs containing any of `answers` (normalised), in doc order."""
        wanted = [norm(a) for a in answers if norm(a)]
        return [d for d, text in self.docs.items() if any(a in text for a in wanted)]

    def passage_score(self, question: str, doc_id: str, answers: list[str]) -> float:
        """IDF-weighted share of the question's words found in the best passage around an
        occurrence of an answer in `doc_id` (0..1)."""
        asked = words(question)
        total = sum(self.idf.get(w, 0.0) for w in asked)
        if not total:
            return 0.0
        text, best = self.docs[doc_id], 0.0
        for answer in (norm(a) for a in answers if norm(a)):
            for match in re.finditer(re.escape(answer), text):
                window = text[max(0, match.start() - PASSAGE):match.end() + PASSAGE]
                best = max(best, sum(self.idf.get(w, 0.0) for w in asked & words(window)) / total)
        return best

    def gold(self, question: str, answers: list[str]) -> list[str]:
        """[the doc id that states the answer], or [] when no doc contains it."""
        holders = self.holders(answers)
        if len(holders) <= 1:
            return holders
        return [max(holders, key=lambda d: self.passage_score(question, d, answers))]  # ties: first id


def seen_in_training(question: str, answers: list[str], train: list[dict]) -> bool:
    """A guess: whether a training pair states this fact. Its output holds the answer and it is
    about the same thing (30% of the question's content words appear in the pair)."""
    wanted = [norm(a) for a in answers if norm(a)]
    for pair in train:
        text = " ".join((pair["instruction"], pair["input"], pair["output"]))
        if any(a in norm(pair["output"]) for a in wanted) and overlap(question, text) >= 0.3:
            return True
    return False


def detect_language(docs: dict[str, str]) -> str:
    """"zh" when at least a fifth of the letters are CJK ideographs, else "en"."""
    text = "".join(docs.values())[:200_000]
    letters = [c for c in text if c.isalpha()]
    cjk = sum(1 for c in letters if "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf")
    return "zh" if letters and cjk / len(letters) >= 0.2 else "en"
