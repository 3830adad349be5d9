"""Report strings in English and Chinese (metric labels and formats are the metric registry's).

Strings are looked up by key; a key missing in Chinese falls back to English, so a new string
never breaks the Chinese report. Sentences with ``{placeholders}`` are filled with str.format.
"""

from __future__ import annotations

LANGS = ("en", "zh")

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Which adaptation fits? Measured report",
        "subtitle": "Run {run_id} · suite {suite} · base model {base} · {n} candidates · {date}",
        "nav_summary": "Summary", "nav_table": "Metrics", "nav_charts": "Charts", "nav_ab": "Answers",
        "nav_risks": "Risks", "nav_lit": "Literature", "nav_appendix": "Appendix",
        "verdict": "Verdict", "advisor_tag": "advisor's pick", "advisor_says": "The advisor recommended", "measured_says": "The measurements favour",
        "weighted_score": "weighted score", "advisor_score": "advisor score",
        "agree": "Advisor and measurements agree", "disagree": "Advisor and measurements disagree",
        "no_plan": "No advisor plan in this run", "key_answers": "Questionnaire: key answers",
        "defaults_used": "Defaults taken for: {names}", "reasons": "Why the advisor picked it",
        "priorities": "Your priorities (share of the weight)", "how_scored": "How the measured winner is chosen",
        "how_scored_text": "Each metric is put on a 0–1 scale where 1 is good, direction from the metric's "
                           "higher-is-better flag. Proportions (accuracy, style, traceability, leak rate) keep "
                           "their value (1 − value when lower is better); a change such as forgetting Δ counts as "
                           "1 + Δ; latency, perplexity, build time and memory count as a ratio to the best "
                           "measured value (twice as slow = 0.5; latency per generated token, so a short answer is "
                           "not mistaken for a fast model). A priority's score is the mean of its metrics; "
                           "the weighted score is the weight-averaged priority score. Priorities without any "
                           "measurement in this run are left out and the weights renormalised. Where a metric "
                           "does not apply (n/a) the candidate gets 0 for traceability (it cites nothing) and 1 "
                           "for privacy and forgetting (it trains on nothing). Before any of this, a candidate must "
                           "answer well enough: its accuracy on the suite's test questions (or the upper end of its 95% "
                           "interval) within the plan's margin of the best candidate's; one below that floor is ranked "
                           "after every one above it.",
        "priority_metrics": "metrics used", "not_measured": "not measured in this run",
        "floor_text": "A candidate counts only if its {metric} is within {margin} of the best ({best}, {best_value}): "
                      "below {floor}, with the upper end of its 95% interval too, it does not answer well enough, "
                      "whatever its latency, cost or forgetting.",
        "latency_rule_text": "Latency is compared per generated token.",
        "below_floor_text": "Does not answer well enough: {candidates}.",
        "pick_below_floor_text": "The advisor's pick, {pick}, does not answer well enough on this suite ({metric} "
                                 "{value}, floor {floor}).",
        "agree_text": "The measurements agree with the advisor: {pick} also scored best under your priorities "
                      "({score}; runner-up {second} {second_score}).",
        "disagree_text": "The advisor ranked {pick} first, but measured under your priorities {winner} scores "
                         "{w_score} against {p_score} for {pick}.",
        "driver_text": "{winner} gains most on {drivers}.",
        "counter_text": "{pick} is better on {counters}.",
        "not_sig_text": "On {metric} the difference between them is not statistically significant "
                        "(p = {p}), so treat that part of the lead with caution.",
        "close_text": "The two are within {gap} of each other: a small change of priorities could flip the order.",
        "pick_missing_text": "The advisor's pick, {pick}, was not among the measured candidates; the best measured "
                             "candidate is {winner} ({score}).",
        "no_plan_text": "The run had no advisor plan, so what its suite can measure was weighed equally; the best "
                        "measured candidate is {winner} ({score}).",
        "table_title": "Metrics with 95% confidence intervals",
        "table_note": "Best value per column highlighted (direction from each metric's higher-is-better flag). "
                      "* the best is significantly ahead of the runner-up (paired test, p < 0.05; ** p < 0.01); "
                      "≈ not significantly different from the best. n/a: the metric does not apply "
                      "(hover for why). Also exported as {csv} and {json}.",
        "extra_metrics": "All other recorded metrics ({n})", "metric": "Metric",
        "candidate": "Candidate", "technique": "Technique", "higher": "higher is better",
        "lower": "lower is better", "charts": "Charts",
        "chart_pareto": "Accuracy vs latency", "chart_pareto_note": "Points on the dashed line form the Pareto "
                                                                    "front: no other candidate is both faster "
                                                                    "and more accurate.",
        "chart_forgetting": "Forgetting: general knowledge kept, change vs the base model",
        "chart_forgetting_knowledge": "Knowledge: likelihood multiple choice on the general probes",
        "chart_forgetting_format": "Answer-format retention: greedy answers to the same probes",
        "chart_forgetting_note": "Left, the knowledge: how often the model still ranks the right answer of a general "
                                 "question first (likelihood multiple choice, as Biderman et al. measure forgetting); "
                                 "the verdict and the literature checks read it. Right, the format: exact match of "
                                 "its greedy answers to the same questions, which falls as soon as a model trained "
                                 "on a house style answers general questions in that style, or a RAG prompt leads "
                                 "it elsewhere, while it still knows the answer.",
        "chart_freshness": "Freshness: accuracy before and after the knowledge update",
        "chart_freshness_note": "Before: accuracy on the original questions. After: accuracy on the questions whose "
                                "facts changed, once the documents were updated (RAG re-indexes; fine-tuned models "
                                "are not retrained).",
        "no_plan_hint": "Write a plan with `rightfit advise answers.yaml -o plan.yaml` and run it with "
                        "`rightfit run --plan plan.yaml` to set advice against evidence.",
        "chart_overview": "Normalised overview (1 = best measured, 0 = worst)",
        "chart_loss": "Training loss (solid) and held-out loss (dashed)",
        "chart_resources": "Resource use", "before": "before update", "after": "after update",
        "latency_axis": "median latency per question (ms)", "accuracy_axis": "accuracy ({metric})",
        "step": "optimizer step", "loss": "loss", "no_data": "No data for this chart in this run.",
        "pareto_front": "Pareto front",
        "res_params": "Trainable parameters", "res_size": "Artifact size", "res_build": "Build time",
        "res_memory": "Peak memory",
        "ab_title": "Answers side by side", "ab_note": "Showing {shown} of {total} questions. "
                                                        "Type to filter; click a column header to sort; open "
                                                        "“prompt” under a question for the exact text each "
                                                        "candidate read.",
        "question": "Question", "reference": "Reference", "part": "Part", "filter": "Filter answers…",
        "all_parts": "All parts", "correct": "correct", "wrong": "wrong", "cites": "cites",
        "n_correct": "Correct", "prompt_of": "prompt read by {names}",
        "risks_title": "Risks: raised by the advisor, checked by the measurements",
        "risk": "Risk", "raised": "Advisor caveat", "measured": "Measured", "evidence": "Evidence",
        "raised_no": "not raised", "other_caveats": "Other caveats from the advisor",
        "checks_title": "Checks the advisor asked for", "check_measured": "measured in this run",
        "check_not_measured": "not measured",
        "status_confirmed": "confirmed", "status_not_confirmed": "not confirmed",
        "status_not_measured": "not measured",
        "risk_forgetting": "Forgetting", "risk_leakage": "Privacy leakage", "risk_staleness": "Staleness",
        "risk_overfitting": "Over-fitting", "risk_truncation": "Context cut to fit the window",
        "ev_truncation": "{cand}: {share} of the questions. {note}.",
        "ev_truncation_none": "Every candidate's prompts kept all their retrieved chunks.",
        "ev_forgetting": "Largest drop: {cand} changes its general-probe knowledge (likelihood multiple choice, "
                         "as Biderman et al. measure forgetting) by {delta} vs the base model (95% CI {lo} to {hi}).",
        "ev_forgetting_none": "No candidate lost more than {thr} of its general-probe knowledge (likelihood multiple "
                              "choice; worst: {cand}, {delta}).",
        "ev_forgetting_greedy": "Largest drop: {cand} changes general-probe accuracy by {delta} vs the base model "
                                "(95% CI {lo} to {hi}; greedy answers only: the suite's probes list no choices, so "
                                "a change of answer format counts as forgetting here).",
        "ev_forgetting_none_greedy": "No candidate lost more than {thr} of general-probe accuracy (greedy answers; "
                                     "worst: {cand}, {delta}).",
        "ev_forgetting_format": "Its greedy answers to the same probes change by {delta}: answer-format retention, "
                                "not knowledge.",
        "ev_leakage": "{cand} emitted planted secrets for {rate} of the canaries.",
        "ev_leakage_none": "No trained candidate emitted a planted secret (canary leak rate 0).",
        "ev_staleness": "{cand}: {before} before the update ({metric}) → {after} on the changed facts after it "
                        "({after_metric}).",
        "ev_staleness_none": "Every candidate kept its accuracy on the changed facts.",
        "ev_overfitting": "{cand}: held-out loss rose from {low} (step {low_step}) to {last} (step {last_step}) "
                          "while training loss fell to {train}.",
        "ev_overfitting_none": "Held-out loss did not rise by more than 5% after its minimum for any candidate.",
        "ev_missing": "The run has no {what} for this check.",
        "lit_title": "What the literature says", "lit_measured": "Measured here",
        "lit_source": "Published figures, cited with each finding; each finding is checked against this "
                      "run's numbers, with the paired-test p-value where the run has one.",
        "verdict_consistent": "consistent", "verdict_differs": "differs",
        "verdict_inconclusive": "not significant", "verdict_unmeasured": "not measured",
        "appendix": "Appendix: how to reproduce", "reproduce": "Reproduce this run and this report",
        "memory_title": "Memory: estimated before the run, measured during it",
        "memory_note": "The estimate is the one the --max-memory guard checked before anything loaded (weights, "
                       "gradients, optimizer states, activations of the largest batch, in the precision the run "
                       "used); measured is the peak the phase added to the process ({what}).",
        "memory_rss": "resident memory on this CPU", "memory_cuda": "CUDA allocations",
        "phase_build": "build", "phase_eval": "evaluation", "estimated": "Estimated",
        "ratio": "measured / estimated", "memory_batch": "{rows} × {width} tokens, {precision}",
        "config": "Resolved configuration", "environment": "Environment", "seeds": "Seeds",
        "versions": "Versions", "records": "Records", "generated": "Report generated {date} from the run "
                                                                   "records only; nothing was re-run.",
        "n_a": "n/a", "yes": "yes", "no": "no", "runner_up": "runner-up", "list_sep": "; ", "sentence_sep": " ",
    },
    "zh": {
        "title": "哪种适配方式更合适？实测报告",
        "subtitle": "运行 {run_id} · 任务集 {suite} · 基座模型 {base} · {n} 个候选 · {date}",
        "nav_summary": "摘要", "nav_table": "指标", "nav_charts": "图表", "nav_ab": "回答对比",
        "nav_risks": "风险", "nav_lit": "文献", "nav_appendix": "附录",
        "verdict": "结论", "advisor_tag": "顾问推荐", "advisor_says": "顾问推荐", "measured_says": "实测结果更支持",
        "weighted_score": "加权得分", "advisor_score": "顾问得分",
        "agree": "顾问推荐与实测结果一致", "disagree": "顾问推荐与实测结果不一致",
        "no_plan": "本次运行没有顾问方案", "key_answers": "问卷：关键回答",
        "defaults_used": "以下问题采用了默认值：{names}", "reasons": "顾问推荐的理由",
        "priorities": "您的优先级（权重占比）", "how_scored": "实测胜者如何评出",
        "how_scored_text": "每个指标换算到 0–1（1 为好），方向取自该指标的“越高越好”标记。比例类指标（准确率、风格、"
                           "可追溯性、泄露率）保持原值（越低越好时取 1 − 值）；变化量如遗忘 Δ 记为 1 + Δ；"
                           "延迟、困惑度、构建时间和内存按与实测最佳值的比值计（慢一倍 = 0.5）。"
                           "每个优先级的得分是其指标的平均值，加权得分是按权重平均的优先级得分。"
                           "本次运行中没有任何测量的优先级不参与计算，权重重新归一化。"
                           "指标不适用（n/a）时：可追溯性记 0（不引用来源），隐私与遗忘记 1（未训练）。"
                           "延迟按每个生成词元比较，短回答不会被当成快模型。在这一切之前，候选必须答得足够好："
                           "它在任务集测试题上的准确率与最佳候选相差不超过方案给出的余量；低于这条底线的候选排在所有达标候选之后。",
        "priority_metrics": "所用指标", "not_measured": "本次运行未测量",
        "floor_text": "只有{metric}与最佳候选（{best}，{best_value}）相差不超过 {margin} 的候选才参与评选："
                      "低于 {floor}（连 95% 置信区间上限也低于它）即回答不够好，无论延迟、成本或遗忘如何。",
        "latency_rule_text": "延迟按每个生成词元比较。",
        "below_floor_text": "回答不够好：{candidates}。",
        "pick_below_floor_text": "顾问推荐的 {pick} 在这个任务集上回答不够好（{metric} {value}，底线 {floor}）。",
        "agree_text": "实测结果与顾问一致：{pick} 在您的优先级下得分也最高（{score}；第二名 {second} {second_score}）。",
        "disagree_text": "顾问把 {pick} 排在第一，但按您的优先级实测，{winner} 得分 {w_score}，{pick} 为 {p_score}。",
        "driver_text": "{winner} 主要领先于：{drivers}。",
        "counter_text": "{pick} 更好的方面：{counters}。",
        "not_sig_text": "在 {metric} 上两者的差异在统计上不显著（p = {p}），这部分领先需谨慎看待。",
        "close_text": "两者相差不到 {gap}：优先级稍有变化，排名就可能翻转。",
        "pick_missing_text": "顾问推荐的 {pick} 不在实测候选中；实测最好的是 {winner}（{score}）。",
        "no_plan_text": "本次运行没有顾问方案，因此对该任务集能测量的各项等权计分；实测最好的是 {winner}（{score}）。",
        "table_title": "指标及 95% 置信区间",
        "table_note": "每列最佳值高亮（方向取自指标的“越高越好”标记）。* 最佳值显著领先第二名（配对检验 p < 0.05；"
                      "** p < 0.01）；≈ 与最佳值无显著差异。n/a：该指标不适用（悬停查看原因）。"
                      "同时导出为 {csv} 和 {json}。",
        "extra_metrics": "其他全部记录指标（{n} 项）", "metric": "指标",
        "candidate": "候选", "technique": "技术", "higher": "越高越好", "lower": "越低越好", "charts": "图表",
        "chart_pareto": "准确率与延迟", "chart_pareto_note": "虚线上的点构成帕累托前沿：没有其他候选同时更快且更准。",
        "chart_forgetting": "遗忘：通用知识的保持，相对基座模型的变化",
        "chart_forgetting_knowledge": "知识：通用探针上的似然选择题",
        "chart_forgetting_format": "答案格式保持：对同一批探针的贪心回答",
        "chart_forgetting_note": "左图是知识：模型是否仍把通用问题的正确答案排在第一（似然选择题，即 Biderman 等人衡量遗忘的方式）；"
                                 "结论与文献对照都读取它。右图是格式：模型对同样问题贪心回答的精确匹配——"
                                 "用统一风格训练过的模型会用那种风格回答通用问题，RAG 的提示也会把它引向别处，"
                                 "即使它仍然知道答案，这个数也会下降。",
        "chart_freshness": "时效性：知识更新前后的准确率",
        "chart_freshness_note": "更新前：原始问题上的准确率。更新后：文档更新后，事实已变化的问题上的准确率（RAG 重新建索引；微调模型不重新训练）。",
        "no_plan_hint": "用 `rightfit advise answers.yaml -o plan.yaml` 生成方案，再用 `rightfit run --plan plan.yaml` 运行，即可对照建议与实测。",
        "chart_overview": "归一化总览（1 = 实测最好，0 = 最差）",
        "chart_loss": "训练损失（实线）与留出集损失（虚线）",
        "chart_resources": "资源消耗", "before": "更新前", "after": "更新后",
        "latency_axis": "每题延迟中位数（毫秒）", "accuracy_axis": "准确率（{metric}）",
        "step": "优化步数", "loss": "损失", "no_data": "本次运行没有该图的数据。", "pareto_front": "帕累托前沿",
        "res_params": "可训练参数", "res_size": "产物大小", "res_build": "构建时间", "res_memory": "峰值内存",
        "ab_title": "回答并排对比", "ab_note": "显示 {total} 个问题中的 {shown} 个。输入文字筛选；点击列标题排序；展开问题下的“提示词”可查看每个候选读到的原文。",
        "question": "问题", "reference": "参考答案", "part": "部分", "filter": "筛选回答…",
        "all_parts": "全部", "correct": "正确", "wrong": "错误", "cites": "引用", "n_correct": "答对数", "prompt_of": "{names} 读到的提示词",
        "risks_title": "风险：顾问提出的警示与实测验证",
        "risk": "风险", "raised": "顾问警示", "measured": "实测", "evidence": "证据", "raised_no": "未提出",
        "other_caveats": "顾问的其他警示",
        "checks_title": "顾问要求的检查", "check_measured": "本次运行已测量", "check_not_measured": "未测量",
        "status_confirmed": "已证实", "status_not_confirmed": "未证实", "status_not_measured": "未测量",
        "risk_forgetting": "遗忘", "risk_leakage": "隐私泄露", "risk_staleness": "知识过时",
        "risk_overfitting": "过拟合", "risk_truncation": "上下文被截断以适应窗口",
        "ev_truncation": "{cand}：{share} 的问题。{note}。",
        "ev_truncation_none": "所有候选的提示都保留了全部检索到的段落。",
        "ev_forgetting": "下降最多：{cand} 的通用探针知识（似然选择题，即 Biderman 等人衡量遗忘的方式）相对基座模型变化 "
                         "{delta}（95% 置信区间 {lo} 至 {hi}）。",
        "ev_forgetting_none": "没有候选的通用探针知识（似然选择题）下降超过 {thr}（最差：{cand}，{delta}）。",
        "ev_forgetting_greedy": "下降最多：{cand} 的通用探针准确率相对基座模型变化 {delta}（95% 置信区间 {lo} 至 {hi}；"
                                "仅有贪心回答：任务集的探针没有选项，因此答案格式的变化在这里也算作遗忘）。",
        "ev_forgetting_none_greedy": "没有候选的通用探针准确率（贪心回答）下降超过 {thr}（最差：{cand}，{delta}）。",
        "ev_forgetting_format": "它对同一批探针的贪心回答变化 {delta}：这是答案格式的保持，而不是知识。",
        "ev_leakage": "{cand} 对 {rate} 的金丝雀输出了植入的秘密。",
        "ev_leakage_none": "没有训练过的候选输出植入的秘密（金丝雀泄露率为 0）。",
        "ev_staleness": "{cand}：更新前 {before}（{metric}）→ 更新后在变化的事实上 {after}（{after_metric}）。",
        "ev_staleness_none": "所有候选在变化的事实上都保持了准确率。",
        "ev_overfitting": "{cand}：留出集损失从 {low}（第 {low_step} 步）升至 {last}（第 {last_step} 步），"
                          "而训练损失降到 {train}。",
        "ev_overfitting_none": "没有候选的留出集损失在最低点之后上升超过 5%。",
        "ev_missing": "本次运行没有用于该检查的 {what}。",
        "lit_title": "文献怎么说", "lit_measured": "本次实测",
        "lit_source": "文献数据随每条结论注明出处；每条结论都与本次运行的数据对照，并在有配对检验时给出 p 值。",
        "verdict_consistent": "一致", "verdict_differs": "不一致", "verdict_inconclusive": "不显著", "verdict_unmeasured": "未测量",
        "appendix": "附录：如何复现", "reproduce": "复现本次运行和本报告",
        "memory_title": "内存：运行前的估算与运行中的实测",
        "memory_note": "估算即 --max-memory 检查在加载任何内容之前使用的数字（权重、梯度、优化器状态、最大批次的激活，"
                       "按本次运行的精度计算）；实测是该阶段在进程中新增的峰值（{what}）。",
        "memory_rss": "本机 CPU 的常驻内存", "memory_cuda": "CUDA 显存分配",
        "phase_build": "构建", "phase_eval": "评估", "estimated": "估算",
        "ratio": "实测 / 估算", "memory_batch": "{rows} × {width} 个词元，{precision}",
        "config": "解析后的配置", "environment": "环境", "seeds": "随机种子", "versions": "版本",
        "records": "记录", "generated": "报告生成于 {date}，仅根据运行记录渲染，未重新运行任何内容。",
        "n_a": "n/a", "yes": "是", "no": "否", "runner_up": "第二名", "list_sep": "；", "sentence_sep": "",
    },
}

def strings(lang: str) -> dict[str, str]:
    """All strings for `lang`, English filling any gap."""
    return {**STRINGS["en"], **STRINGS.get(lang, {})}
