"""The advice as a readable terminal table, in English or Chinese (plain text: no rich, fast start)."""

from __future__ import annotations

from typing import Any

from advisor.estimate import METHODS

UI = {
    "title": {"en": "rightfit advice for", "zh": "rightfit 建议："},
    "defaults": {"en": "Not answered, default used", "zh": "未回答，已使用默认值"},
    "overridden": {"en": "Set on the command line", "zh": "由命令行参数设定"},
    "ranking": {"en": "Ranking", "zh": "排名"},
    "head": {"en": ("#", "technique", "score", "fits", "rules (signed weight)"),
             "zh": ("#", "方法", "得分", "可行", "规则（带符号权重）")},
    "builds": {"en": "What the run builds", "zh": "运行将构建的变体"},
    "not_fit": {"en": "Ranked last because they cannot be built as answered", "zh": "因无法按所答条件构建而排在最后"},
    "would_fit": {"en": "would fit with", "zh": "可行的办法"},
    "or": {"en": "; or ", "zh": "；或"},
    "fired": {"en": "Rules that fired, in order", "zh": "触发的规则（按顺序）"},
    "caveats": {"en": "Caveats and risks", "zh": "注意事项与风险"},
    "checks": {"en": "Checks the run must include", "zh": "运行必须包含的检查"},
    "whatif": {"en": "What would change the top pick", "zh": "什么会改变首选"},
    "whatif_none": {"en": "no decision of one or two answers changes it", "zh": "改动一到两个可决定的回答都不会改变它"},
    "estimate": {"en": "Resource estimate", "zh": "资源估算"},
    "est_head": {"en": ("method", "total GB", "per GPU", "weights", "grads", "optim", "activ", "overhead", "fits",
                        "train h"),
                 "zh": ("方法", "总计 GB", "每卡 GB", "权重", "梯度", "优化器", "激活", "开销", "放得下", "训练小时")},
    "student": {"en": "student", "zh": "学生"},
    "no_gpu": {"en": "no GPU", "zh": "无 GPU"},
    "device": {"en": "on the device ({have:g} GB): the model needs {model:g} GB at 4-bit, the {student:g}B student "
                     "{needs:g} GB",
               "zh": "设备上（{have:g} GB）：模型以 4-bit 需 {model:g} GB，{student:g}B 学生模型需 {needs:g} GB"},
    "plan": {"en": "Plan (candidates to build)", "zh": "计划（要构建的候选）"},
    "settings": {"en": "Run settings the estimate assumed", "zh": "估算所假设的运行设置"},
    "priorities": {"en": "Priorities for choosing the measured winner", "zh": "选择实测胜者的优先级权重"},
    "floor": {"en": "Quality floor: a candidate counts only within {m:g} of the best measured accuracy",
              "zh": "质量底线：只有准确率与实测最佳相差不超过 {m:g} 的候选才参与评选"},
    "wrote": {"en": "wrote {path}", "zh": "已写入 {path}"},
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


def _ranking(advice: dict, t: dict) -> list[str]:
    lang, plan = advice["lang"], advice["plan"]
    weights = {r["id"]: r["effects"] for r in advice["fired"]}
    rows = [t["head"]]
    for i, entry in enumerate(plan.ranking, 1):
        why = ", ".join(f"{weights[r][entry.technique]:+g} {r}" for r in entry.rules) or "-"
        rows.append((i, entry.technique, f"{entry.score:g}", show(entry.fits, lang), why))
    out = [t["ranking"], *_table(rows)]
    built = [e for e in plan.ranking if e.technique in plan.candidates and e.variant]
    if built:
        out += ["", t["builds"]] + [f"  {e.technique}: {e.variant['text'][lang]}" for e in built]
    unfit = [e for e in plan.ranking if not e.fits]
    if unfit:
        out += ["", t["not_fit"]]
        for e in unfit:
            out.append(f"  {e.technique}: {'; '.join(e.why_not[lang])}")
            if e.fixes[lang]:
                out.append(f"    {t['would_fit']}: {t['or'].join(e.fixes[lang])}")
    return out


def _estimate(plan: Any, t: dict, lang: str) -> list[str]:
    est = plan.estimate
    gpu = (f"{est['gpu_count']} x {est['gpu_gb']:g} GB GPU" if est["gpu_gb"] else t["no_gpu"])
    out = [f"{t['estimate']} ({est['model_size_b']:g}B, seq {est['seq_len']}, batch {est['batch']}, {gpu})"]
    rows = [t["est_head"]]

    def row(name: str, e: dict) -> tuple:
        b = e["breakdown"]
        fits = "-" if e["fits"] is None else show(e["fits"], lang)
        hours = "-" if e["train_hours"] is None else f"{e['train_hours']:.3g}"
        return (name, f"{e['total_gb']:.1f}", f"{e['per_gpu_gb']:.1f}", *(f"{b[k]:.1f}" for k in
                ("weights", "gradients", "optimizer", "activations", "overhead")), fits, hours)
    rows += [row(m, est["methods"][m]) for m in METHODS]
    if "distill" in plan.candidates or plan.pick == "distill":
        student = est["student"]
        rows += [row(f"{m} ({t['student']} {student['model_size_b']:g}B)", e) for m, e in student["methods"].items()]
    out += _table(rows)
    if est.get("on_device_gb"):
        need = est["on_device_gb"]
        out.append("  " + t["device"].format(have=est["device_gb"], model=need["model"],
                                             student=est["student"]["model_size_b"], needs=need["student"]))
    return out


def render(advice: dict, source: str = "") -> str:
    """The advice as text: ranking with fit, fired rules, caveats, checks, what-if, estimate, plan."""
    lang, plan = advice["lang"], advice["plan"]
    t = {k: v[lang] for k, v in UI.items()}
    out = [f"{t['title']} {source}".rstrip(), ""]
    if plan.defaults_used:
        defaults = ", ".join(f"{q}={show(plan.answers[q], lang)}" for q in plan.defaults_used)
        out += [f"{t['defaults']}: {defaults}", ""]
    if advice.get("overridden"):
        out += [f"{t['overridden']}: " + ", ".join(f"{q}={show(plan.answers[q], lang)}"
                                                   for q in advice["overridden"]), ""]
    out += _ranking(advice, t) + ["", t["fired"]]
    out += [f"  {r['id']}: {r['reason']} [{r['source']}]" for r in advice["fired"]]
    if plan.caveats:
        out += ["", t["caveats"]] + [f"  ! {c.id}: {c.text[lang]}" for c in plan.caveats]
    out += ["", f"{t['checks']}: {', '.join(plan.checks) or '-'}", ""]
    wi = advice["what_if"]
    out.append(f"{t['whatif']} ({wi['top']})")
    out += [f"  {option['text'][lang]}  =>  {option['top']}" for option in wi["options"]]
    if not wi["options"]:
        out.append(f"  {t['whatif_none']}")
    out += [""] + _estimate(plan, t, lang) + ["", f"{t['plan']}: {', '.join(plan.candidates)}"]
    if plan.settings:
        out.append(f"{t['settings']}: " + ", ".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}"
                                                  for k, v in plan.settings.items()))
    out.append(f"{t['priorities']}: " + ", ".join(f"{k} {v:.2f}" for k, v in plan.priorities.items()))
    out.append(t["floor"].format(m=plan.quality_margin))
    return "\n".join(out)
