"""The advice as a readable terminal table, in English or Chinese (plain text: no rich, fast start)."""

from __future__ import annotations

from typing import Any

from advisor.estimate import METHODS

UI = {
    "title": {"en": "rightfit advice for", "zh": "rightfit 建议："},
    "defaults": {"en": "Not answered, default used", "zh": "未回答，已使用默认值"},
    "ranking": {"en": "Ranking", "zh": "排名"},
    "head": {"en": ("#", "technique", "score", "rules (signed weight)"), "zh": ("#", "方法", "得分", "规则（带符号权重）")},
    "fired": {"en": "Rules that fired, in order", "zh": "触发的规则（按顺序）"},
    "caveats": {"en": "Caveats and risks", "zh": "注意事项与风险"},
    "checks": {"en": "Checks the run must include", "zh": "运行必须包含的检查"},
    "whatif": {"en": "What would change the top pick", "zh": "什么会改变首选"},
    "whatif_none": {"en": "no change of one or two answers changes it", "zh": "改动一到两个回答都不会改变它"},
    "estimate": {"en": "Resource estimate", "zh": "资源估算"},
    "est_head": {"en": ("method", "total GB", "weights", "grads", "optim", "activ", "overhead", "fits", "train h"),
                 "zh": ("方法", "总计 GB", "权重", "梯度", "优化器", "激活", "开销", "放得下", "训练小时")},
    "no_gpu": {"en": "no GPU", "zh": "无 GPU"},
    "plan": {"en": "Plan (candidates to build)", "zh": "计划（要构建的候选）"},
    "priorities": {"en": "Priorities for choosing the measured winner", "zh": "选择实测胜者的优先级权重"},
    "yes": {"en": "yes", "zh": "是"}, "no": {"en": "no", "zh": "否"},
}


def show(value: Any, lang: str = "en") -> str:
    """An answer as text: yes/no for booleans, numbers without trailing zeros."""
    if isinstance(value, bool):
        return UI["yes" if value else "no"][lang]
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _table(rows: list[tuple], indent: str = "  ") -> list[str]:
    def width(text: str) -> int:  # CJK characters take two columns
        return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
    cols = [max(width(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(str(c) + " " * (w - width(str(c))) for c, w in zip(r, cols)).rstrip() for r in rows]


def render(advice: dict, source: str = "") -> str:
    """The advice as text: ranking, fired rules, caveats, checks, what-if, estimate, plan."""
    lang, plan = advice["lang"], advice["plan"]
    t = {k: v[lang] for k, v in UI.items()}
    out = [f"{t['title']} {source}".rstrip(), ""]
    if plan.defaults_used:
        defaults = ", ".join(f"{q}={show(plan.answers[q], lang)}" for q in plan.defaults_used)
        out += [f"{t['defaults']}: {defaults}", ""]
    out.append(t["ranking"])
    weights = {r["id"]: r["effects"] for r in advice["fired"]}
    rows = [t["head"]]
    for i, entry in enumerate(plan.ranking, 1):
        why = ", ".join(f"{weights[r][entry.technique]:+g} {r}" for r in entry.rules) or "-"
        rows.append((i, entry.technique, f"{entry.score:g}", why))
    out += _table(rows) + ["", t["fired"]]
    out += [f"  {r['id']}: {r['reason']} [{r['source']}]" for r in advice["fired"]]
    if plan.caveats:
        out += ["", t["caveats"]] + [f"  ! {c.id}: {c.text[lang]}" for c in plan.caveats]
    out += ["", f"{t['checks']}: {', '.join(plan.checks) or '-'}", ""]
    wi = advice["what_if"]
    out.append(f"{t['whatif']} ({wi['top']})")
    for option in wi["options"]:
        change = " + ".join(f"{q}: {show(plan.answers[q], lang)} -> {show(v, lang)}"
                            for q, v in option["changes"].items())
        out.append(f"  {change}  =>  {option['top']}")
    if not wi["options"]:
        out.append(f"  {t['whatif_none']}")
    est = plan.estimate
    gpu = f"{est['gpu_gb']:g} GB GPU" if est["gpu_gb"] else t["no_gpu"]
    out += ["", f"{t['estimate']} ({est['model_size_b']:g}B, seq {est['seq_len']}, batch {est['batch']}, {gpu})"]
    rows = [t["est_head"]]
    for method in METHODS:
        e = est["methods"][method]
        b = e["breakdown"]
        fits = "-" if e["fits"] is None else show(e["fits"], lang)
        hours = "-" if e["train_hours"] is None else f"{e['train_hours']:.3g}"
        rows.append((method, f"{e['total_gb']:.1f}", *(f"{b[k]:.1f}" for k in
                     ("weights", "gradients", "optimizer", "activations", "overhead")), fits, hours))
    out += _table(rows) + ["", f"{t['plan']}: {', '.join(plan.candidates)}"]
    out.append(f"{t['priorities']}: " + ", ".join(f"{k} {v:.2f}" for k, v in plan.priorities.items()))
    return "\n".join(out)
