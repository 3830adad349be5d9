"""lm-eval's ``--log_samples`` output of an exported task, read back into a run as one more candidate
(`rightfit suites import --lm-eval SAMPLES RUN_DIR`).

Each sample's response is cut and scored by rightfit's own code (harness/lmeval/task.py reads the
answer, harness.evaluation.evaluate.score_answers scores it), so the model lm-eval evaluated gets
the same per-question scores, metrics with confidence intervals and paired tests as the run's own
candidates; lm-eval's own exact_match is checked against rightfit's, question by question.
Parts lm-eval did not run (updates, probes, canaries, latency) are n/a for it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from rightfit.errors import UserError

# what a sample's doc holds when it comes from an exported task (harness/lmeval/task.py), and its type
FIELDS = {"id": str, "rightfit_suite": str, "rightfit_version": str, "first_line": bool, "answer": str,
          "aliases": list, "prompt": str, "style_starts_with": str, "style_ends_with": str}
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
EXPORT_HINT = ("export the suite with `rightfit suites export --lm-eval DIR SUITE` and run lm-eval on that task "
               "with --log_samples")


def find_samples(path: str | Path) -> Path:
    """The samples file: `path` itself, or the one samples_rightfit_*.jsonl under the folder `path`.

    Raises:
        UserError: missing, or a folder with none or several such files.
    """
    path = Path(path)
    if path.is_file():
        return path
    if not path.exists():
        raise UserError(f"{path}: no such file or folder; give lm-eval's samples_<task>_<time>.jsonl "
                        f"(written with --log_samples) or the --output_path folder that holds it.")
    found = sorted(path.rglob("samples_rightfit_*.jsonl"))
    if len(found) != 1:
        what = "no samples_rightfit_*.jsonl" if not found else f"{len(found)} samples files ({found[0].name}, ...)"
        raise UserError(f"{path}: the folder holds {what}; give the samples file to import.")
    return found[0]


def read_samples(path: Path) -> list[tuple[int, dict]]:
    """(line number, sample) for every sample in `path`, each checked to come from an exported task.

    Raises:
        UserError: a line that is not JSON, or not a sample of a task rightfit exported.
    """
    from rightfit.files import decode_utf8, json_type, parse_jsonl
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UserError(f"{path}: cannot read ({e.strerror}); give a samples file you can read.") from None
    text, line, problem = decode_utf8(data)
    if text is None:
        raise UserError(f"{path}:{line}: {problem}.")
    out = []
    for n, sample, problem in parse_jsonl(text):
        if sample is None:
            raise UserError(f"{path}:{n}: {problem}; give the samples_<task>_<time>.jsonl lm-eval wrote "
                            f"with --log_samples.")
        doc, resps = sample.get("doc"), sample.get("resps")
        missing = [f for f in FIELDS if not isinstance(doc, dict) or f not in doc]
        if missing:
            raise UserError(f"{path}:{n}: not a sample of a task exported by rightfit (its doc has no "
                            f"'{missing[0]}'); {EXPORT_HINT}.")
        wrong = [f for f, kind in FIELDS.items() if not isinstance(doc[f], kind)
                 or (kind is list and not all(isinstance(x, str) for x in doc[f]))]
        if wrong:
            want = {str: "a string", bool: "true/false", list: "a list of strings"}[FIELDS[wrong[0]]]
            raise UserError(f"{path}:{n}: field 'doc.{wrong[0]}' is {json_type(doc[wrong[0]])}, not {want}; "
                            f"{EXPORT_HINT}.")
        if not (isinstance(resps, list) and resps and isinstance(resps[0], list) and resps[0]
                and isinstance(resps[0][0], str)):
            raise UserError(f"{path}:{n}: field 'resps' must hold the generated text ([[\"...\"]]); {EXPORT_HINT}.")
        out.append((n, sample))
    if not out:
        raise UserError(f"{path}: no samples in the file; {EXPORT_HINT}.")
    return out


def _prompt_and_decoding(path: Path, n: int, sample: dict) -> str:
    """The prompt lm-eval sent; it must be the exported one, decoded greedily.

    Raises:
        UserError: lm-eval changed the prompt (a chat template, a system instruction or few-shot
            examples added on top) or sampled.
    """
    args = (sample.get("arguments") or {}).get("gen_args_0") or {}
    prompt, gen = args.get("arg_0"), args.get("arg_1") or {}
    if prompt is not None and prompt != sample["doc"]["prompt"]:
        raise UserError(f"{path}:{n}: lm-eval sent another prompt than the exported one (run with "
                        f"--apply_chat_template, --system_instruction or --num_fewshot?); the exported prompts are "
                        f"already in the model's format: re-run lm-eval without them, or export with --model MODEL.")
    if gen.get("do_sample") or float(gen.get("temperature") or 0.0) > 0:
        raise UserError(f"{path}:{n}: lm-eval sampled its answers (do_sample/temperature in --gen_kwargs); "
                        f"rightfit decodes greedily: re-run lm-eval without those --gen_kwargs.")
    return sample["doc"]["prompt"]


def run_settings(run_dir: Path) -> Any:
    """The run's resolved config (its suite, bootstrap resamples and seed).

    Raises:
        UserError: the run has no config.resolved.yaml.
    """
    from harness.config import load_config
    path = run_dir / "config.resolved.yaml"
    if not path.is_file():
        raise UserError(f"{path}: missing; give a run directory written by `rightfit run`.")
    return load_config(path)


def model_of(samples: Path) -> dict:
    """What lm-eval said about the model, from the results_<time>.json beside the samples."""
    stamp = samples.stem.rsplit("_", 1)[-1]
    results = samples.with_name(f"results_{stamp}.json")
    try:
        info = json.loads(results.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    config = info.get("config") or {}
    return {"model": config.get("model"), "model_args": config.get("model_args"),
            "lm_eval_version": info.get("lm_eval_version"), "results": str(results)}


def check_name(name: str, run: dict) -> None:
    """Raises UserError: `name` is not a plain name, is a run's candidate or a technique rightfit builds."""
    from harness.techniques import REGISTRY
    if not NAME.match(name):
        raise UserError(f"--name {name!r} must be a plain name of letters, digits and _ . - (at most 64).")
    if name in REGISTRY:
        raise UserError(f"--name {name!r} is a technique rightfit builds; pick a name of your own for the model "
                        f"lm-eval evaluated, e.g. {name}-lmeval.")
    if any(r["candidate"] == name or r.get("technique") == name for r in run["records"]):
        raise UserError(f"--name {name!r}: the run already has a candidate of that name; pick another --name.")


def candidate_record(samples: list[tuple[int, dict]], path: Path, suite: Any, cfg: Any, name: str) -> dict:
    """The CandidateRecord of the model lm-eval evaluated: its answers scored by rightfit.

    Raises:
        UserError: the samples are of another suite (or version), or ask a question it does not have.
    """
    from harness.evaluation.evaluate import metrics_on_test, score_answers
    from harness.lmeval.task import answer_text
    by_id = {q["id"]: q for q in suite.test}
    answers: dict[str, dict] = {}
    theirs: dict[str, float | None] = {}
    for n, sample in samples:
        doc = sample["doc"]
        if (doc["rightfit_suite"], str(doc["rightfit_version"])) != (suite.name, str(suite.version)):
            raise UserError(f"{path}:{n}: a sample of suite {doc['rightfit_suite']} v{doc['rightfit_version']}, but "
                            f"the run evaluated {suite.name} v{suite.version}; import it into a run of that suite.")
        if doc["id"] not in by_id:
            raise UserError(f"{path}:{n}: question id {str(doc['id'])[:80]!r} is not in suite {suite.name}'s "
                            f"test.jsonl; export the suite again and re-run lm-eval.")
        if doc["id"] in answers:
            raise UserError(f"{path}:{n}: question {doc['id']!r} appears twice; give the samples of one lm-eval run.")
        prompt = _prompt_and_decoding(path, n, sample)
        answers[doc["id"]] = {"text": answer_text(sample["resps"][0][0], doc), "prompt": prompt}
        em = sample.get("exact_match")
        theirs[doc["id"]] = float(em) if isinstance(em, (int, float)) else None
    rows = [q for q in suite.test if q["id"] in answers]  # the suite's order
    examples = score_answers(rows, [answers[q["id"]] for q in rows], "test", suite)
    for e in examples:
        e["lm_eval_em"] = theirs[e["id"]]
    metrics = metrics_on_test(examples, suite, cfg)
    metrics["test.traceability"]["note"] = "evaluated by lm-eval, which retrieves nothing"
    model = model_of(path)
    args = model.get("model_args")
    base = args.get("pretrained") if isinstance(args, dict) else str(args or "")
    return {"candidate": name, "technique": name, "seed": cfg.seed, "base_model": base or "",
            "suite": {"name": suite.name, "version": suite.version, "language": suite.language},
            "technique_config": {"lm_eval": {"samples": str(path), **model}}, "source": "lm-eval",
            "artifact": {}, "train": {}, "metrics": metrics, "examples": examples, "timings": {}}


def agreement(record: dict) -> tuple[int, int, list[str]]:
    """(questions where lm-eval's exact_match equals rightfit's, questions lm-eval scored, ids that differ)."""
    scored = [e for e in record["examples"] if e.get("lm_eval_em") is not None]
    differ = [e["id"] for e in scored if e["lm_eval_em"] != e["scores"]["em"]]
    return len(scored) - len(differ), len(scored), differ


def import_samples(samples_path: str | Path, run_dir: str | Path, name: str) -> dict:
    """Add the model of an lm-eval samples file to the run at `run_dir` as candidate `name`, with
    paired tests against every candidate of the run; returns its record.

    Raises:
        UserError: any mistake in the inputs (named with file and line), or the run is in use.
    """
    from harness.evaluation.compare import add_comparisons
    from harness.records import SCHEMA_VERSION, load_run, safe_name
    from harness.suites import load_suite
    from rightfit.files import FileLock, now_iso, write_json
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    check_name(name, run)
    path = find_samples(samples_path)
    samples = read_samples(path)
    cfg = run_settings(run_dir)
    suite = load_suite(cfg.suite)
    record = candidate_record(samples, path, suite, cfg, name)
    with FileLock(run_dir.with_name(f".{run_dir.name}.lock")).acquire("is using this run", "wait for it to end"):
        # a multi-seed run's paired tests pool the per-seed records, as the run did
        seeds = {f: json.loads(f.read_text(encoding="utf-8")) for f in sorted((run_dir / "records" / "seeds").glob("*.json"))}
        tops = {run_dir / "records" / f"{safe_name(r['candidate'])}.json": r for r in run["records"]}
        for r in [*seeds.values(), *tops.values()]:
            r.setdefault("technique", r["candidate"].split("@")[0])
        seeded = {r["technique"] for r in seeds.values()}
        pooled = list(seeds.values()) + [r for r in tops.values() if r.get("technique") not in seeded] + [record]
        for r in pooled:
            r.pop("comparisons", None)
        add_comparisons(pooled, cfg)
        for f, r in tops.items():
            if r.get("technique") in seeded:  # an aggregate carries its first seed's (pooled) tests
                first = next(s for s in seeds.values() if s["technique"] == r["technique"])
                r["comparisons"] = first.get("comparisons", {})
        record.update(schema_version=SCHEMA_VERSION, run_id=run["run_id"], created=now_iso())
        for f, r in [*seeds.items(), *tops.items()]:
            write_json(f, r)
        write_json(run_dir / "records" / f"{safe_name(name)}.json", record)
    return record
