"""The report in a real browser: headless Debian chromium renders it, and nothing injected executes.

The session fixture installs `chromium` with apt-get when it is missing (we are root); the tests
skip only when apt itself is unavailable. The report's own inline script stamps
``data-rendered="WxH"`` on the summary, the table and each chart after layout, and sets
``<body data-js="on">``; ``--dump-dom`` returns the DOM after scripts ran, so we read both back.
A screenshot is saved to test-artifacts/report.png.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from rightfit.cli import main

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "run_fixture"
ARTIFACTS = REPO / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic", "--hide-scrollbars"]
CHECKS = ["summary", "table", "chart-pareto", "chart-forgetting", "chart-format", "chart-freshness", "chart-loss",
          "chart-overview", "chart-resources", "answers", "risks", "literature", "appendix"]
MARK = "data-pwned"


def _find_chromium() -> str | None:
    return next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser")) if p), None)


@pytest.fixture(scope="session")
def chromium() -> str:
    path = _find_chromium()
    if path:
        return path
    if not shutil.which("apt-get"):
        pytest.skip("chromium is not installed and apt-get is unavailable to install it")
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    # fonts-noto-cjk: without it the Chinese report's screenshot shows empty boxes
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium", "fonts-noto-cjk"]
    if subprocess.run(install, capture_output=True, env=env, timeout=900).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env, timeout=600)
        done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
        assert done.returncode == 0, f"apt-get install chromium failed: {done.stderr[-800:]}"
    path = _find_chromium()
    assert path, "apt-get installed chromium but no chromium binary is on PATH"
    return path


def browse(chromium: str, html: Path, tmp: Path, *args: str) -> str:
    """Run headless chromium on a local file with a fresh profile; return stdout."""
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    cmd = [chromium, *FLAGS, f"--user-data-dir={profile}", *args, html.resolve().as_uri()]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-800:]
    return out.stdout


def dump_dom(chromium: str, html: Path, tmp: Path) -> str:
    return browse(chromium, html, tmp, "--window-size=1280,900", "--virtual-time-budget=3000", "--dump-dom")


def render(run: Path, out: Path, *extra: str) -> Path:
    result = CliRunner().invoke(main, ["report", str(run), "-o", str(out), *extra])
    assert result.exit_code == 0, result.output
    return out


def test_report_renders_in_chromium_with_screenshot(chromium, tmp_path):
    html = render(FIXTURE, tmp_path / "report.html")
    dom = dump_dom(chromium, html, tmp_path)
    assert '<body data-js="on">' in dom                       # the inline script ran
    sizes = dict(re.findall(r'data-check="([\w-]+)" data-rendered="(\d+x\d+)"', dom))
    assert set(sizes) == set(CHECKS), sizes
    for name, size in sizes.items():
        w, h = map(int, size.split("x"))
        assert w >= 300 and h >= 60, f"{name} rendered as {size}"
    assert not re.search(r'<div class="controls" id="ab-controls" hidden', dom)   # filter box shown
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    browse(chromium, html, tmp_path, "--window-size=1280,5200", f"--screenshot={shot}")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 100_000      # a full page, not a blank one
    assert int.from_bytes(data[16:20], "big") == 1280


def test_chinese_report_renders_in_chromium(chromium, tmp_path):
    html = render(FIXTURE, tmp_path / "zh.html", "--lang", "zh")
    dom = dump_dom(chromium, html, tmp_path)
    sizes = {n: int(w) for n, w, _h in re.findall(r'data-check="([\w-]+)" data-rendered="(\d+)x(\d+)"', dom)}
    assert set(sizes) == set(CHECKS) and all(w >= 300 for w in sizes.values())
    assert "实测结果更支持" in dom


PAYLOADS = [
    "<script>document.documentElement.setAttribute('data-pwned','script')</script>",
    "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','img')\">",
    "<svg onload=\"document.documentElement.setAttribute('data-pwned','svg')\"></svg>",
    "\"><img src=x onerror=document.documentElement.setAttribute('data-pwned','attr')>",
    "'><script>document.title='PWNED'</script>",
    "</title><script>document.documentElement.setAttribute('data-pwned','title')</script>",
    "<iframe srcdoc=\"<script>parent.document.documentElement.setAttribute('data-pwned','iframe')</script>\">",
]


def _poison(run: Path) -> None:
    """Put the payloads into every piece of suite text, model output and advisor text of the run."""
    for k, f in enumerate(sorted((run / "records").glob("*.json"))):
        rec = json.loads(f.read_text())
        for i, ex in enumerate(rec["examples"]):
            p = PAYLOADS[(i + k) % len(PAYLOADS)]
            ex.update(question=f"Q {p}", reference=f"R {p}", answer=f"A {p}", kind=p,
                      sources=[p, "doc<b>"], gold_sources=[p], id=f"{ex['id']}{p}")
        rec["metrics"]["test.traceability"]["note"] = PAYLOADS[3]
        rec["metrics"][PAYLOADS[1]] = {"value": 0.5, "higher_is_better": True, "note": PAYLOADS[0]}
        if rec["candidate"] == "prompt":
            rec["candidate"] = f"prompt{PAYLOADS[1]}"
        rec["base_model"] = PAYLOADS[5]
        f.write_text(json.dumps(rec))
    record = json.loads((run / "run.json").read_text())
    plan = record["advice"]
    plan["ranking"][0]["reasons"]["en"].append(PAYLOADS[0])
    plan["answers"][PAYLOADS[2]] = PAYLOADS[1]
    plan["caveats"].append({"id": "x", "checks": [], "text": {"en": PAYLOADS[4]}})
    plan["caveats"].append({"id": "y", "checks": ["privacy"], "text": {"en": PAYLOADS[4]}})
    plan["defaults_used"].append(PAYLOADS[6])
    record["checks"].append({"name": "style", "measurable": False, "why": PAYLOADS[3]})
    (run / "run.json").write_text(json.dumps(record))


def test_injected_markup_never_executes(chromium, tmp_path):
    run = shutil.copytree(FIXTURE, tmp_path / "run")
    _poison(run)
    html = render(run, tmp_path / "evil.html")
    source = html.read_text()
    assert "&lt;script&gt;document.documentElement" in source and "<script>document.documentElement" not in source
    assert "onerror=\"document" not in source and "<iframe" not in source
    dom = dump_dom(chromium, html, tmp_path)
    assert '<body data-js="on">' in dom                       # scripts do run in this browser...
    assert MARK not in dom.split("<body", 1)[0]                # ...but no payload did
    assert "<title>PWNED" not in dom and f'{MARK}="' not in dom


def test_the_detector_catches_an_unescaped_payload(chromium, tmp_path):
    """Control: the same check fails on a report where one payload went in raw."""
    html = render(FIXTURE, tmp_path / "raw.html")
    raw = tmp_path / "raw_injected.html"
    raw.write_text(html.read_text().replace("</main>", PAYLOADS[1] + "</main>", 1))
    dom = dump_dom(chromium, raw, tmp_path)
    assert f'{MARK}="img"' in dom


def test_answers_filter_and_sort_work_in_the_browser(chromium, tmp_path):
    """Drive the report's own script: type a filter, pick a part, click a header; read the DOM back."""
    html = render(FIXTURE, tmp_path / "ab.html")
    driver = """<script>
    var f = document.getElementById('ab-filter'), p = document.getElementById('ab-part');
    var rows = function () { return Array.prototype.slice.call(document.getElementById('ab-table').tBodies[0].rows); };
    var shown = function () { return rows().filter(function (r) { return !r.hidden; }).length; };
    f.value = 'jacket'; f.dispatchEvent(new Event('input'));
    var a = shown();
    f.value = ''; f.dispatchEvent(new Event('input'));
    p.value = 'probes'; p.dispatchEvent(new Event('change'));
    var b = shown();
    p.value = ''; p.dispatchEvent(new Event('change'));
    var th = document.querySelector('#ab-table th[data-sort="correct"]');
    th.click();
    var asc = rows().map(function (r) { return r.getAttribute('data-correct'); }).join(',');
    th.click();
    var desc = rows().map(function (r) { return r.getAttribute('data-correct'); }).join(',');
    document.body.setAttribute('data-probe', [a, b, asc, desc].join('|'));
    </script>"""
    driven = tmp_path / "ab_driven.html"
    driven.write_text(html.read_text().replace("</body>", driver + "</body>", 1))
    probe = re.search(r'data-probe="([^"]*)"', dump_dom(chromium, driven, tmp_path)).group(1)
    jacket, probes, asc, desc = probe.split("|")
    assert (jacket, probes) == ("2", "2")           # q01 + q07 mention a jacket; q10, q11 are probes
    counts = [int(x) for x in asc.split(",")]
    assert counts == sorted(counts) and len(counts) == 12 and counts != sorted(counts, reverse=True)
    assert [int(x) for x in desc.split(",")] == sorted(counts, reverse=True)


def drive(chromium: str, html: Path, tmp: Path, script: str, width: int = 1280) -> str:
    """Run `script` in the rendered report at a window `width` px wide; it leaves its findings in
    body[data-probe], which is returned."""
    driven = tmp / f"driven-{len(list(tmp.glob('driven-*')))}.html"
    driven.write_text(html.read_text().replace("</body>", f"<script>{script}</script></body>", 1))
    dom = browse(chromium, driven, tmp, f"--window-size={width},900", "--virtual-time-budget=3000", "--dump-dom")
    return re.search(r'data-probe="([^"]*)"', dom).group(1)


FIT = """var t = document.getElementById('ab-table'), box = t.parentElement, head = t.tHead.rows[0].cells;
var last = head[head.length - 1].getBoundingClientRect(), b = box.getBoundingClientRect();
document.body.setAttribute('data-probe', [window.innerWidth, document.documentElement.scrollWidth,
  Math.round(b.right), Math.round(last.right), box.scrollWidth, box.clientWidth].join(','));"""


def _wider_run(tmp: Path, extra: int) -> Path:
    """The fixture run with `extra` more candidates (copies of lora under other names)."""
    run = shutil.copytree(FIXTURE, tmp / "wide-run")
    lora = json.loads((run / "records" / "lora.json").read_text())
    for i in range(extra):
        (run / "records" / f"lora-{i}.json").write_text(json.dumps({**lora, "candidate": f"lora-{i}",
                                                                      "technique": f"lora-{i}"}))
    return run


@pytest.mark.parametrize("width", [1024, 1400, 1920])
def test_answers_table_fits_the_page(chromium, tmp_path, width):
    """Six candidates: every column, the last candidate's included, inside the table's box and the
    page at 1,024 px and wider (the page never scrolls sideways)."""
    html = render(FIXTURE, tmp_path / "fit.html")
    inner, page, box_right, last_right, scroll, client = map(int, drive(chromium, html, tmp_path, FIT, width).split(","))
    assert inner == width and page <= width, (page, width)
    assert last_right <= box_right and scroll <= client, (last_right, box_right, scroll, client)


def test_answers_table_with_many_candidates_scrolls_inside_its_box(chromium, tmp_path):
    """Twelve candidates cannot share 1,024 px legibly: the table scrolls inside its box, the page
    itself does not."""
    html = render(_wider_run(tmp_path, 6), tmp_path / "wide.html")
    inner, page, box_right, _last, scroll, client = map(int, drive(chromium, html, tmp_path, FIT, 1024).split(","))
    assert page <= inner == 1024 and box_right <= inner
    assert scroll > client


def test_the_prompt_of_an_answer_opens_from_the_answers_table(chromium, tmp_path):
    """Click "prompt" under a question: the exact text each candidate read appears, once per distinct
    prompt, with the candidates that read it (the retrieving ones read the document too)."""
    html = render(FIXTURE, tmp_path / "prompt.html")
    script = """var row = document.querySelector('#ab-table tr[data-id="q03"]');
    var boxes = row.querySelectorAll('details.prompt'), out = [];
    Array.prototype.forEach.call(boxes, function (d) {
      d.querySelector('summary').click();
      var pre = d.querySelector('pre'), r = pre.getBoundingClientRect();
      out.push([d.getAttribute('data-candidates'), d.open, Math.round(r.height) > 20, pre.textContent].join('~'));
    });
    document.body.setAttribute('data-probe', out.join('^'));"""
    found = [x.split("~") for x in drive(chromium, html, tmp_path, script).replace("&#10;", "\n").split("^")]
    import html as html_lib
    records = {r["candidate"]: r for r in (json.loads(f.read_text()) for f in (FIXTURE / "records").glob("*.json"))}
    prompt_of = {c: next(e["prompt"] for e in r["examples"] if e["id"] == "q03") for c, r in records.items()}
    assert sorted(sorted(x[0].split()) for x in found) == [["distill", "full", "lora", "prompt"], ["rag", "rag_lora"]]
    for names, opened, visible, text in found:
        assert opened == "true" and visible == "true"
        for c in names.split():
            assert html_lib.unescape(text) == prompt_of[c]
    assert [x[3].startswith("Context:") for x in found] == ["rag" in x[0].split() for x in found]


def test_forgetting_chart_reads_the_likelihood_delta(chromium, tmp_path):
    """In the browser: the forgetting figure's main chart plots each candidate's likelihood (knowledge)
    delta, and the greedy (answer-format) delta sits beside it in its own chart."""
    html = render(FIXTURE, tmp_path / "forget.html")
    script = """var fig = document.getElementById('fig-forgetting'), out = [fig.getAttribute('data-metric')];
    Array.prototype.forEach.call(fig.querySelectorAll('svg.chart'), function (svg) {
      var bars = Array.prototype.map.call(svg.querySelectorAll('rect[data-name]'), function (r) {
        return r.getAttribute('data-name') + '=' + r.getAttribute('data-value'); });
      var box = svg.getBoundingClientRect();
      out.push(svg.getAttribute('data-chart') + ':' + Math.round(box.width) + ':' + bars.join(';'));
    });
    document.body.setAttribute('data-probe', out.join('|'));"""
    metric, *charts = drive(chromium, html, tmp_path, script).split("|")
    assert metric == "forgetting.probes.mc_acc"
    records = {r["candidate"]: r for r in (json.loads(f.read_text()) for f in (FIXTURE / "records").glob("*.json"))}
    for chart, key in zip(charts, ("forgetting.probes.mc_acc", "forgetting.probes.em")):
        name, width, bars = chart.split(":")
        assert int(width) >= 300
        got = {k: float(v) for k, v in (b.split("=") for b in bars.split(";"))}
        assert got == {c: r["metrics"][key]["value"] for c, r in records.items() if c != "prompt"}, name
    assert [c.split(":")[0] for c in charts] == ["forgetting", "format"]
