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

from advisor import fit, sizing
from advisor.engine import evaluate
from advisor.estimate import METHODS, estimate
from advisor.questionnaire import load_questionnaire, override
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
    fits: bool = True                                         # passes every constraint (may be built)
    why_not: dict[str, list[str]] = field(default_factory=dict)  # language -> one sentence per broken constraint
    fixes: dict[str, list[str]] = field(default_factory=dict)    # language -> what would make it pass
    variant: dict = field(default_factory=dict)               # {method, gb, text: {lang: what the run builds}}


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
    estimate: dict                     # resource_estimate: every method for the answered model and GPU(s)
    lang: str = "en"                   # the language the advice was given in
    plan_version: int = PLAN_VERSION
    settings: dict[str, Any] = field(default_factory=dict)  # run config (dotted keys) the estimate assumed
    quality_margin: float = 0.10       # how far below the best accuracy a candidate may win (the report's floor)

    @property
    def pick(self) -> str | None:
        return self.ranking[0].technique if self.ranking else None

    def to_dict(self) -> dict:
        data = asdict(self)
        order = ("plan_version", "lang", "answers", "defaults_used", "ranking", "candidates", "settings",
                 "priorities", "quality_margin", "caveats", "checks", "estimate")
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
        def texts(entry: Any) -> dict[str, list[str]]:
            return {str(k): [str(x) for x in v] for k, v in (entry or {}).items()}
        try:
            ranking = [RankedTechnique(str(r["technique"]), float(r["score"]), [str(x) for x in r["rules"]],
                                       texts(r.get("reasons")), bool(r.get("fits", True)), texts(r.get("why_not")),
                                       texts(r.get("fixes")), dict(r.get("variant") or {}))
                       for r in data.get("ranking") or []]
        except (TypeError, KeyError, ValueError, AttributeError):
            raise bad("ranking", "a list of {technique, score, rules, reasons, fits, why_not, fixes, variant}") from None
        settings = data.get("settings") or {}
        if not isinstance(settings, dict) or any(not isinstance(k, str) or isinstance(v, (dict, list))
                                                 for k, v in settings.items()):
            raise bad("settings", "a mapping of config fields (train.precision) to values")
        margin = data.get("quality_margin", 0.10)
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin <= 1:
            raise bad("quality_margin", "a number from 0 to 1")
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
                   estimate=dict(data.get("estimate") or {}), lang=str(data.get("lang", "en")),
                   settings=dict(settings), quality_margin=float(margin))


def resource_estimate(answers: dict[str, Any]) -> dict:
    """Every estimate method for the answered model on the answered GPU(s), per GPU when sharded,
    and the student's rows for distillation. Without a GPU `fits` is None: nothing runs on GPU
    memory. The training tokens are the data answer's nominal number of pairs x seq_len x EPOCHS.
    """
    questions = load_questionnaire()
    s = sizing.sizing_of(answers)
    examples = questions["data"]["meta"][answers["data"]]["examples"]
    tokens = examples * s.seq_len * EPOCHS or None
    tflops = [t for gb, t in questions["gpu_gb"]["tflops"] if gb <= s.gpu_gb][-1] * (1 if s.cpu else s.gpu_count)
    gpu_gb = s.gpu_gb or None

    def rows(size_b: float, methods: tuple[str, ...]) -> dict:
        out = {}
        for m in methods:
            e = estimate(size_b * 1e9, m, seq_len=s.seq_len, batch=s.batch, train_tokens=tokens, gpu_tflops=tflops)
            each = sizing.per_gpu(size_b, m, s.seq_len, s.batch, s.gpu_count)
            out[m] = {**e, "per_gpu_gb": each, "fits": None if gpu_gb is None else bool(each <= gpu_gb)}
        return out
    return {"model_size_b": s.model_b, "seq_len": s.seq_len, "batch": s.batch, "gpu_gb": gpu_gb,
            "gpu_count": s.gpu_count, "train_tokens": tokens, "gpu_tflops": tflops, "methods": rows(s.model_b, METHODS),
            "student": {"model_size_b": s.student_b, "methods": rows(s.student_b, ("full", "full_bf16", "inference"))},
            "device_gb": s.device_gb,
            "on_device_gb": {"model": sizing.on_device(s.model_b, s.seq_len),
                             "student": sizing.on_device(s.student_b, s.seq_len)} if s.device_gb else None}


def advise(answers: dict[str, Any], defaults_used: list[str], lang: str = "en",
           overrides: dict[str, Any] | None = None) -> dict:
    """The full advice: the plan plus the fired rules with reasons and sources, what-if and derived facts.

    Args:
        answers: complete answers (questionnaire.load_answers / complete).
        defaults_used: question ids that took their default.
        lang: en or zh, for the text the advice is shown in.
        overrides: question id -> value from command-line flags (--gpu-gb ...), put in place of
            the answers before anything is computed, so ranking, estimate and plan agree.

    Returns:
        {"plan": Plan, "fired": [...], "what_if": {...}, "derived": {...}, "overridden": [ids], "lang": lang}
    """
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    answers, defaults_used = override(answers, defaults_used, overrides, lang)
    result = evaluate(answers)
    rules = {r["id"]: r for r in load_rules()["rules"]}
    constraints = {c["id"]: c for c in load_rules().get("constraints", [])}
    size = sizing.sizing_of(answers)
    ranking = []
    for technique in result["ranking"]:
        ids = [rule_id for rule_id, _ in result["contributions"][technique]]
        why, fixes = [], []
        for cid in result["broken"][technique]:
            if "sizing" not in constraints[cid]:
                why.append(constraints[cid]["why"])
                fixes.append(constraints[cid]["fix"])
        if any("sizing" in constraints[cid] for cid in result["broken"][technique]):
            why += fit.why_not(technique, size)
            fixes += fit.fixes(technique, size)
        ranking.append(RankedTechnique(technique, result["scores"][technique], ids,
                                       {lg: [rules[i]["reason"][lg] for i in ids] for lg in LANGS},
                                       result["fits"][technique], {lg: [w[lg] for w in why] for lg in LANGS},
                                       {lg: [f[lg] for f in fixes] for lg in LANGS}, fit.variant(technique, size)))
    fired = []
    for rule_id in result["fired"]:
        effects = {t: w for t, contribs in result["contributions"].items() for r, w in contribs if r == rule_id}
        fired.append({"id": rule_id, "effects": effects, "reason": rules[rule_id]["reason"][lang],
                      "source": rules[rule_id]["source"]})
    plan = Plan(answers=answers, defaults_used=defaults_used, ranking=ranking, candidates=result["candidates"],
                priorities=result["priorities"],
                caveats=[Caveat(c["id"], c["checks"], {lg: c[lg] for lg in LANGS}) for c in result["caveats"]],
                checks=result["checks"], estimate=resource_estimate(answers), lang=lang,
                settings=sizing.settings(result["candidates"], size), quality_margin=result["quality_margin"])
    return {"plan": plan, "fired": fired, "what_if": what_if(answers), "derived": result["facts"],
            "overridden": list(overrides), "lang": lang}
