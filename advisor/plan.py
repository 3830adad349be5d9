"""Answers -> the advice (ranking, reasons, caveats, what-if, resource estimate) and the plan.

The plan is the run contract: what `rightfit advise -o plan.yaml` writes and `rightfit run
--plan` reads, one typed object (:class:`Plan`) on both sides. Every field is read by the run:
the candidates are built, the rest is copied into the run record (runs/<id>/run.json) for the
report (priorities for the measured winner, ranking and reasons for the verdict, caveats and
checks for the risks, answers for the summary). Reasons and caveats carry both languages, so
a report in either language needs nothing but the run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from advisor.engine import evaluate
from advisor.estimate import estimate_all
from advisor.questionnaire import load_questionnaire
from advisor.rule_table import load_rules
from advisor.whatif import what_if
from rightfit.errors import UserError
from rightfit.vocabulary import PRIORITIES

PLAN_VERSION = 2
LANGS = ("en", "zh")
EPOCHS = 3  # passes over the labelled pairs assumed for the training-time estimate


@dataclass
class RankedTechnique:
    technique: str
    score: float
    rules: list[str]                                          # ids of the rules that moved its score
    reasons: dict[str, list[str]] = field(default_factory=dict)  # language -> one sentence per rule


@dataclass
class Caveat:
    id: str
    checks: list[str]          # the measurements that show whether the risk happened
    text: dict[str, str]       # language -> sentence


@dataclass
class Plan:
    """The advisor's decision, as the run consumes it."""

    answers: dict[str, Any]
    defaults_used: list[str]
    ranking: list[RankedTechnique]     # best first
    candidates: list[str]              # what to build, in order
    priorities: dict[str, float]       # weights (sum 1) the measured winner is chosen under
    caveats: list[Caveat]
    checks: list[str]                  # measurements the run must include
    estimate: dict                     # advisor.estimate.estimate_all for the answered model and GPU
    lang: str = "en"                   # the language the advice was given in
    plan_version: int = PLAN_VERSION

    @property
    def pick(self) -> str | None:
        return self.ranking[0].technique if self.ranking else None

    def to_dict(self) -> dict:
        data = asdict(self)
        order = ("plan_version", "lang", "answers", "defaults_used", "ranking", "candidates", "priorities",
                 "caveats", "checks", "estimate")
        return {key: data[key] for key in order}

    @classmethod
    def from_dict(cls, data: Any, source: str) -> "Plan":
        """A plan read back from YAML.

        Raises:
            UserError: not a plan of this version, or a field of the wrong shape (named).
        """
        def bad(name: str, want: str) -> UserError:
            return UserError(f"{source}: field '{name}' must be {want}; write the plan with "
                             f"`rightfit advise ANSWERS -o plan.yaml`.")

        if not isinstance(data, dict):
            raise UserError(f"{source}: expected a mapping (plan_version, candidates, ...); write the plan with "
                            f"`rightfit advise ANSWERS -o plan.yaml`.")
        if data.get("plan_version") != PLAN_VERSION:
            raise UserError(f"{source}: plan_version is {data.get('plan_version')!r}, this rightfit reads "
                            f"{PLAN_VERSION}; write the plan again with `rightfit advise ANSWERS -o plan.yaml`.")
        candidates = data.get("candidates")
        if not isinstance(candidates, list) or not candidates or not all(isinstance(c, str) for c in candidates):
            raise bad("candidates", "a non-empty list of techniques")
        priorities = data.get("priorities")
        if not isinstance(priorities, dict) or any(
                k not in PRIORITIES or isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0
                for k, v in priorities.items()):
            raise bad("priorities", f"a mapping of {', '.join(PRIORITIES)} to weights >= 0")
        try:
            ranking = [RankedTechnique(str(r["technique"]), float(r["score"]), [str(x) for x in r["rules"]],
                                       {str(k): [str(x) for x in v] for k, v in (r.get("reasons") or {}).items()})
                       for r in data.get("ranking") or []]
        except (TypeError, KeyError, ValueError, AttributeError):
            raise bad("ranking", "a list of {technique, score, rules, reasons}") from None
        try:
            caveats = [Caveat(str(c["id"]), [str(x) for x in c.get("checks") or []],
                              {str(k): str(v) for k, v in c["text"].items()}) for c in data.get("caveats") or []]
        except (TypeError, KeyError, AttributeError):
            raise bad("caveats", "a list of {id, checks, text}") from None
        for name, kind in (("answers", dict), ("defaults_used", list), ("checks", list), ("estimate", dict)):
            if not isinstance(data.get(name, kind()), kind):
                raise bad(name, "a mapping" if kind is dict else "a list")
        return cls(answers=dict(data.get("answers") or {}), defaults_used=list(data.get("defaults_used") or []),
                   ranking=ranking, candidates=list(candidates), priorities={k: float(v) for k, v in priorities.items()},
                   caveats=caveats, checks=[str(c) for c in data.get("checks") or []],
                   estimate=dict(data.get("estimate") or {}), lang=str(data.get("lang", "en")))


def resource_estimate(answers: dict[str, Any], model_size: float | None = None, gpu_gb: float | None = None,
                      seq_len: int = 512, batch: int = 1) -> dict:
    """The estimate for the answered (or overridden) model size and GPU.

    Without a GPU (gpu: none and no --gpu-gb) `fits` is None: nothing runs on GPU memory. The
    training tokens are the data answer's nominal number of pairs x seq_len x EPOCHS.
    """
    questions = load_questionnaire()
    gpu_meta = questions["gpu"]["meta"][answers["gpu"]]
    if gpu_gb is None:
        gpu_gb = gpu_meta["gpu_gb"] or None
    examples = questions["data"]["meta"][answers["data"]]["examples"]
    size = model_size if model_size is not None else answers["model_size_b"]
    return estimate_all(size * 1e9, seq_len, batch, gpu_gb=gpu_gb,
                        train_tokens=examples * seq_len * EPOCHS or None, gpu_tflops=gpu_meta["tflops"])


def advise(answers: dict[str, Any], defaults_used: list[str], lang: str = "en", **estimate_args: Any) -> dict:
    """The full advice: the plan plus the fired rules with reasons and sources, what-if and derived facts.

    Args:
        answers: complete answers (questionnaire.load_answers / complete).
        defaults_used: question ids that took their default.
        lang: en or zh, for the text the advice is shown in.
        estimate_args: model_size, gpu_gb, seq_len, batch for resource_estimate.

    Returns:
        {"plan": Plan, "fired": [...], "what_if": {...}, "derived": {...}, "lang": lang}
    """
    result = evaluate(answers)
    rules = {r["id"]: r for r in load_rules()["rules"]}
    ranking = []
    for technique in result["ranking"]:
        ids = [rule_id for rule_id, _ in result["contributions"][technique]]
        ranking.append(RankedTechnique(technique, result["scores"][technique], ids,
                                       {lg: [rules[i]["reason"][lg] for i in ids] for lg in LANGS}))
    fired = []
    for rule_id in result["fired"]:
        effects = {t: w for t, contribs in result["contributions"].items() for r, w in contribs if r == rule_id}
        fired.append({"id": rule_id, "effects": effects, "reason": rules[rule_id]["reason"][lang],
                      "source": rules[rule_id]["source"]})
    plan = Plan(answers=answers, defaults_used=defaults_used, ranking=ranking, candidates=result["candidates"],
                priorities=result["priorities"],
                caveats=[Caveat(c["id"], c["checks"], {lg: c[lg] for lg in LANGS}) for c in result["caveats"]],
                checks=result["checks"], estimate=resource_estimate(answers, **estimate_args), lang=lang)
    return {"plan": plan, "fired": fired, "what_if": what_if(answers), "derived": result["facts"], "lang": lang}
