"""`rightfit suites import --lm-eval`: lm-eval's samples scored by rightfit and paired with the run's
candidates, in a one-seed run and in a multi-seed run (whose paired tests pool the seeds), without
touching the pairs the run already had. Samples are written here as lm-eval writes them; the
cross-check with lm-eval itself is tests/test_lmeval_crosscheck.py."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from rightfit.cli import main

SUITE = "shopco-en-tiny"


def _suite():
    from harness.suites import load_suite
    return load_suite(SUITE)


def _record(name: str, right: set[str], seed: int = 0, technique: str | None = None) -> dict:
    """A candidate record whose test answers are right exactly on the question ids in `right`."""
    examples = [{"id": q["id"], "part": "test", "kind": q["kind"], "question": q["question"],
                 "reference": q["answer"], "aliases": q["aliases"], "answer": q["answer"] if q["id"] in right else "?",
                 "scores": {"em": float(q["id"] in right)}} for q in _suite().test]
    em = sum(e["scores"]["em"] for e in examples) / len(examples)
    return {"candidate": name, "technique": technique or name, "seed": seed, "metrics": {"test.em": {"value": em}},
            "examples": examples}


def _run(tmp: Path, seeds: int) -> Path:
    from harness.config import load_config
    from rightfit.files import dump_yaml
    from rightfit.settings import to_dict
    run = tmp / "runs" / "r"
    (run / "records").mkdir(parents=True)
    dump_yaml(to_dict(load_config(None, [f"suite={SUITE}", "eval.bootstrap=200"])), run / "config.resolved.yaml")
    ids = [q["id"] for q in _suite().test]
    records = [_record("prompt", set(ids[:3]))]
    if seeds == 1:
        records.append(_record("full", set(ids[:40])))
    else:
        (run / "records" / "seeds").mkdir()
        for s in range(seeds):  # the seeds know different facts
            seeded = _record(f"full@seed{s}", set(ids[s * 10:40 + s * 10]), s, "full")
            (run / "records" / "seeds" / f"full@seed{s}.json").write_text(json.dumps(seeded))
        records.append({**_record("full", set(ids[:40]), -1, "full"), "seeds": list(range(seeds))})
    from harness.evaluation.compare import add_comparisons
    pooled = [records[0]] + ([records[1]] if seeds == 1 else
                             [json.loads(f.read_text()) for f in sorted((run / "records" / "seeds").glob("*.json"))])
    add_comparisons(pooled, load_config(run / "config.resolved.yaml"))
    for r in records:
        r.setdefault("comparisons", next((p.get("comparisons") for p in pooled if p["technique"] == r["technique"]), {}))
        (run / "records" / f"{r['candidate']}.json").write_text(json.dumps(r))
    return run


def _samples(tmp: Path, right: set[str]) -> Path:
    """lm-eval's --log_samples lines for the exported task: right answers (in the house style) on
    `right`, a wrong one elsewhere; lm-eval's exact_match as its exported utils.py scored them."""
    from harness.modeling.prompts import plain_prompt
    out = tmp / "out" / "model" / "samples_rightfit_shopco_en_tiny_2026-12-02T00-00-00.jsonl"
    out.parent.mkdir(parents=True)
    lines = []
    for q in _suite().test:
        doc = {"id": q["id"], "kind": q["kind"], "question": q["question"], "answer": q["answer"],
               "aliases": q["aliases"], "prompt": plain_prompt(q["question"]), "first_line": True,
               "style_starts_with": "Hi there!", "style_ends_with": "- ShopCo Support",
               "rightfit_suite": SUITE, "rightfit_version": "1.1.0"}
        said = f"Hi there! {q['answer']} - ShopCo Support" if q["id"] in right else "Hi there! no idea - ShopCo Support"
        lines.append({"doc_id": len(lines), "doc": doc, "target": q["answer"],
                      "arguments": {"gen_args_0": {"arg_0": doc["prompt"], "arg_1": {"until": [], "do_sample": False}}},
                      "resps": [[f" {said}\nQuestion: next"]], "filtered_resps": [said], "filter": "rightfit",
                      "exact_match": float(q["id"] in right)})
    out.write_text("".join(json.dumps(x) + "\n" for x in lines))
    (out.parent / "results_2026-12-02T00-00-00.json").write_text(json.dumps(
        {"config": {"model": "hf", "model_args": {"pretrained": "/models/vendor"}}, "lm_eval_version": "0.4.13"}))
    return out


def _import(run: Path, samples: Path) -> str:
    done = CliRunner().invoke(main, ["suites", "import", str(run), "--lm-eval", str(samples.parent.parent),
                                     "--name", "vendor"])
    assert done.exit_code == 0, done.output + done.stderr
    return done.output


def test_import_into_a_one_seed_run(tmp_path):
    run = _run(tmp_path, 1)
    before = json.loads((run / "records" / "full.json").read_text())
    ids = [q["id"] for q in _suite().test]
    out = _import(run, _samples(tmp_path, set(ids[:20])))
    assert "rightfit's EM 0.278 on 72 questions" in out and "on 72 of 72 questions" in out
    mine = json.loads((run / "records" / "vendor.json").read_text())
    full = json.loads((run / "records" / "full.json").read_text())
    assert mine["base_model"] == "/models/vendor" and mine["source"] == "lm-eval"
    assert mine["metrics"]["test.em"]["value"] == 20 / 72 and mine["metrics"]["test.style"]["value"] == 1.0
    assert mine["metrics"]["test.em"]["ci_low"] < 20 / 72 < mine["metrics"]["test.em"]["ci_high"]
    assert mine["examples"][0]["answer"] == f"Hi there! {_suite().test[0]['answer']} - ShopCo Support"
    assert mine["examples"][0]["content"] == _suite().test[0]["answer"]
    pair = mine["comparisons"]["test.em"]["full"]
    assert pair["n"] == 72 and abs(pair["diff"] - (20 - 40) / 72) < 1e-12 and pair["better"] == "full"
    assert full["comparisons"]["test.em"]["vendor"]["diff"] == -pair["diff"]
    assert full["comparisons"]["test.em"]["prompt"] == before["comparisons"]["test.em"]["prompt"]  # untouched


def test_import_into_a_multi_seed_run_pools_the_seeds(tmp_path):
    run = _run(tmp_path, 2)
    ids = [q["id"] for q in _suite().test]
    _import(run, _samples(tmp_path, set(ids[:20])))
    mine = json.loads((run / "records" / "vendor.json").read_text())
    # full's score per question is the mean over its seeds (ids[0:40] and ids[10:50] right)
    pooled = [(float(i < 40) + float(10 <= i < 50)) / 2 for i in range(72)]
    pair = mine["comparisons"]["test.em"]["full"]
    assert abs(pair["diff"] - (20 - sum(pooled)) / 72) < 1e-12 and pair["n"] == 72
    aggregate = json.loads((run / "records" / "full.json").read_text())
    first_seed = json.loads((run / "records" / "seeds" / "full@seed0.json").read_text())
    assert aggregate["comparisons"] == first_seed["comparisons"]
    assert aggregate["comparisons"]["test.em"]["vendor"]["diff"] == -pair["diff"]
