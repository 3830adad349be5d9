"""`rightfit bench` never skips a row silently: a benchmark whose peer is missing, or whose result
holds a field without a value, fails with the reason on its summary line (and exit 1)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from rightfit.cli import main

REPO = Path(__file__).resolve().parents[1]

SCRIPTS = {
    # a benchmark whose peer library is not installed (eval_common.peer stops it with the reason)
    "peerless.py": f"import sys; sys.path.insert(0, {str(REPO / 'bench')!r})\n"
                   "from eval_common import peer\npeer('no_such_peer_module', 'no-such-peer')\n",
    # one that finishes but leaves its peer's field empty
    "gappy.py": "import json, pathlib; p = pathlib.Path(__file__).parent / 'results'; p.mkdir(exist_ok=True)\n"
                "(p / 'gappy.json').write_text(json.dumps({'ours': 1.0, 'peer': {'ppl': None}}))\n",
    "fine.py": "import json, pathlib; p = pathlib.Path(__file__).parent / 'results'; p.mkdir(exist_ok=True)\n"
               "(p / 'fine.json').write_text(json.dumps({'headline': 'harness / peer 2.00x', 'ratio': 2.0}))\n",
}


def test_a_missing_peer_or_an_empty_value_fails_the_row_with_its_reason(tmp_path, monkeypatch):
    import rightfit
    from harness import cli
    (tmp_path / "bench").mkdir()
    for name, text in SCRIPTS.items():
        (tmp_path / "bench" / name).write_text(text)
        monkeypatch.setitem(cli.BENCHMARKS, name[:-3], name)
    monkeypatch.setattr(rightfit, "REPO_ROOT", tmp_path)
    result = CliRunner().invoke(main, ["bench", "--only", "peerless,gappy,fine"])
    assert result.exit_code == 1, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines() if line.split()[:1] != ["wrote"]}
    assert "failed (exit 1)" in rows["peerless"]
    assert "peer missing: no-such-peer cannot be imported" in rows["peerless"]
    assert "failed (no value)" in rows["gappy"] and "no value for peer.ppl" in rows["gappy"]
    assert rows["fine"].split()[1] == "ok" and rows["fine"].endswith("harness / peer 2.00x")
    summary = json.loads((tmp_path / "bench" / "results" / "summary.json").read_text())
    assert summary["peerless"]["reason"].startswith("peer missing: no-such-peer")
    assert summary["fine"]["result"]["ratio"] == 2.0
