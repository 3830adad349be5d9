"""Prompt rendering: the one place a question becomes the text a model reads.

An instruct model (Qwen, Llama, Mistral, ...) carries a chat template in its tokenizer; every
prompt goes through it, so the model sees the format it was tuned on and its answer ends with
the template's own end-of-turn token. A model without a template (the plain self-built tiny
models, a base LM) gets the plain format the generated world uses::

    Context:
    <chunk 1>

    <chunk 2>
    Question: <question>
    Answer: <answer>

    p = Prompter(tokenizer, system="You are ShopCo's assistant.")
    p.render("How much is X?", context=["price: $49"], shots=[("q", "a")])  # the prompt to answer
    p.example("How much is X?", "price: $49", context)   # (prompt, completion) for training
    p.stop_ids, p.chat                                   # ids that end an answer; template or not

Training puts the loss on the completion only: the answer and, for a chat model, the
template's end of turn (so the model learns to stop); for a plain model the answer and EOS.
"""

from __future__ import annotations

from typing import Any

from rightfit.errors import UserError

CONTEXT_HEADER = "Context:\n"
QUESTION = "Question: "
ANSWER = "Answer:"
_MARK = "\x00ANSWER\x00"  # a marker no template or text contains


def user_content(question: str, context: list[str] | None = None) -> str:
    """What the user says: the retrieved chunks (best first) under a header, then the question."""
    head = CONTEXT_HEADER + "\n\n".join(c.strip() for c in context) + "\n" if context else ""
    return f"{head}{QUESTION}{question.strip()}"


def plain_prompt(question: str, context: list[str] | None = None) -> str:
    """The plain format (no chat template): the user content, then ``Answer:``."""
    return f"{user_content(question, context)}\n{ANSWER}"


def pair_question(pair: dict) -> str:
    """The question a train.jsonl (Alpaca) pair asks: its instruction, plus its input on a new line."""
    extra = (pair.get("input") or "").strip()
    return pair["instruction"].strip() + (f"\n{extra}" if extra else "")


class Prompter:
    """How one model is prompted.

    Args:
        tokenizer: the model's tokenizer; its ``chat_template`` (if any) decides the format.
            None: the plain format, with no stop ids (prompts written before a model is chosen,
            e.g. a suite exported for lm-eval).
        system: a system message (a persona, a house style), or "" for none.
    """

    def __init__(self, tokenizer: Any, system: str = ""):
        self.tokenizer, self.system = tokenizer, system.strip()
        self.chat = bool(getattr(tokenizer, "chat_template", None))
        self.end_of_turn = self._end_of_turn() if self.chat else ""
        eos = getattr(tokenizer, "eos_token_id", None)
        ids = {eos} if eos is not None else set()
        if self.end_of_turn:
            ids.add(tokenizer.convert_tokens_to_ids(self.end_of_turn))
        self.stop_ids: list[int] = sorted(i for i in ids if i is not None and i >= 0)

    # ---------------------------------------------------------------- the chat template
    def _messages(self, question: str, context: list[str] | None, shots: list[tuple[str, str]] | None) -> list:
        messages = [{"role": "system", "content": self.system}] if self.system else []
        for q, a in shots or []:
            messages += [{"role": "user", "content": user_content(q)}, {"role": "assistant", "content": a.strip()}]
        return messages + [{"role": "user", "content": user_content(question, context)}]

    def _apply(self, messages: list, generation: bool) -> str:
        try:
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation)
        except Exception as e:  # a template is code (Jinja): its own errors, e.g. "system role not supported"
            raise UserError(f"the model's chat template cannot render this conversation ({str(e)[:200]}); "
                            f"check the tokenizer's chat_template or remove the system message.") from None

    def _end_of_turn(self) -> str:
        """The special token the template closes an assistant turn with (<|im_end|>, <|eot_id|>, </s>)."""
        full = self._apply([{"role": "user", "content": "x"}, {"role": "assistant", "content": _MARK}], False)
        tail = full.split(_MARK, 1)[1] if _MARK in full else ""
        special = set(self.tokenizer.all_special_tokens) | set(getattr(self.tokenizer, "added_tokens_encoder", {}))
        for token in self.tokenizer.tokenize(tail):
            if token in special:
                return token
        return self.tokenizer.eos_token or ""

    # ---------------------------------------------------------------- prompts
    def render(self, question: str, context: list[str] | None = None,
               shots: list[tuple[str, str]] | None = None) -> str:
        """The prompt the model answers `question` from (with retrieved `context` and few-shot `shots`)."""
        if self.chat:
            return self._apply(self._messages(question, context, shots), True)
        head = f"{self.system}\n\n" if self.system else ""
        examples = "".join(f"{plain_prompt(q)} {a.strip()}\n\n" for q, a in shots or [])
        return head + examples + plain_prompt(question, context)

    def example(self, question: str, answer: str, context: list[str] | None = None) -> tuple[str, str]:
        """(prompt, completion) for training; the loss goes on the completion only.

        Chat: the completion is the assistant turn as the template writes it (the answer and the
        end of turn). Plain: " " + answer; the caller adds EOS.
        """
        prompt = self.render(question, context)
        if not self.chat:
            return prompt, " " + answer.strip()
        messages = self._messages(question, context, None) + [{"role": "assistant", "content": answer.strip()}]
        full = self._apply(messages, False)
        if not full.startswith(prompt):
            raise UserError("the model's chat template writes a conversation differently from its prompt for the "
                            "next answer; rightfit cannot tell the answer from the prompt for training.")
        return prompt, full[len(prompt):]

    def continuation(self, text: str) -> str:
        """`text` as it follows the prompt in an answer (likelihood scoring of choices)."""
        return text.strip() if self.chat else " " + text.strip()


def fit_context(prompter: Prompter, question: str, hits: list, window: int,
                max_new_tokens: int) -> tuple[str, list[str], int]:
    """The RAG prompt within the context window: (prompt, doc ids used, chunks cut or dropped).

    Args:
        hits: [(chunk, score)] best first (harness.retrieval.retriever.Retriever.search).

    Whole chunks go in rank order; one that does not fit in the tokens left is dropped and the
    next ones are still tried, so the prompt carries as many whole retrieved chunks as fit.
    Only when not even one fits whole is the best one cut to the tokens left (half a page beats
    no page). Every chunk dropped or cut is counted, so nothing overflows silently.
    """
    tokenizer = prompter.tokenizer

    def n_tokens(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    budget = window - max_new_tokens - n_tokens(prompter.render(question, ["x"])) - 1  # tokens left for chunks
    texts: list[str] = []
    ids: list[str] = []
    lost = 0
    for chunk, _ in hits:
        need = n_tokens(chunk.text) + 2  # + the "\n\n" separator
        if need > budget:
            lost += 1
            continue
        texts.append(chunk.text)
        budget -= need
        if chunk.doc_id not in ids:
            ids.append(chunk.doc_id)
    if not texts and hits and budget > 4:
        chunk = hits[0][0]
        offsets = tokenizer(chunk.text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        text = chunk.text[:offsets[budget - 3][0]].strip() if budget - 3 < len(offsets) else chunk.text
        if text:
            texts, ids = [text], [chunk.doc_id]  # the best chunk, cut: still counted among the lost
    return prompter.render(question, texts), ids, lost


def system_message(suite: Any, config: Any) -> str:
    """The system message of a run: the config's when set, else the suite's (its persona or house style)."""
    return (getattr(config, "system_prompt", "") or getattr(suite, "system", "") or "").strip()
