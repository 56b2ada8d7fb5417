"""`phasegate report`: a self-contained HTML file that a browser draws with the phase colours."""

import re
import shutil
import struct
import subprocess
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC
from html import unescape
from pathlib import Path

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, temporary_settings
from typer.testing import CliRunner

from phasegate.cli.commands import app
from phasegate.report_html import CLI_COLOUR, PHASE_COLOURS
from state.configurations import save_configuration
from state.db import store_session
from state.decisions import list_decisions, record_decision
from state.domain import ConfigurationDraft, DecisionDraft, EvalRun, GateResult
from state.evals import record_eval_run
from state.phases import DecisionKind, GateStatus, Phase
from state.prompt_library import save_prompt_version
from state.settings import Settings
from state.spec import PromptVariant, load_spec
from state.use_cases import apply_spec
from tests.specs import write_spec
from tests.tasks.gate_builders import eval_run

CHROMIUM = Path("/usr/bin/chromium")
UI = "http://127.0.0.1:4200"
NAME = "demo-qa"
HOSTILE = "<script>alert('approver')</script> & more"
#: (phase, model, mean) of the configuration active after each decision.
STEPS = [
    (Phase.PROMPTING, "sandbox-base", 0.31, DecisionKind.BASELINED),
    (Phase.RAG, "sandbox-base", 0.62, DecisionKind.ADVANCED),
    (Phase.FINE_TUNING, "ft:sandbox-base:demo:1", 0.93, DecisionKind.ADVANCED),
]


def _eval_run(configuration_id: int | None, mean: float, **fields: object) -> EvalRun:
    return eval_run(
        run_id=None,
        mean=mean,
        p95_ms=180.0,
        tokens=(250.0, 20.0),
        use_case=NAME,
        configuration_id=configuration_id,
        metric="token_f1",
        n=40,
        ci_low=mean - 0.05,
        ci_high=mean + 0.05,
        cost_per_query=0.0008,
        **fields,
    )


FEW_SHOT = PromptVariant(name="few-shot", kind="few_shot", template="Q: {input}\nA:", k=2)
#: The break-even evidence of the move to fine-tuning, as `gate_cost_break_even` records it.
BREAK_EVEN = {
    "volume_30d": 9000,
    "cost_per_query_active": 0.000812,
    "cost_per_query_candidate": 0.000231,
    "hosting_per_month": 0.0,
    "monthly_savings": 5.229,
    "training_tokens": 1_200_000,
    "training_per_m": 8.0,
    "training_cost": 9.6,
    "months": 1.8359150889271371,
}


def _fill_store(settings: Settings, specs_dir: Path, run_ids: list[str] | None = None) -> None:
    """A use case that went prompting → RAG → fine-tuning, written through store functions.

    `run_ids`: the flow runs of the three decisions (default: ids no Prefect server knows).
    """
    run_ids = run_ids or [str(uuid.uuid4()) for _ in STEPS]
    with store_session(settings.store_url) as session:
        apply_spec(load_spec(write_spec(specs_dir, name=NAME)), session=session)
        prompt = save_prompt_version(NAME, FEW_SHOT, session=session)
        previous = None
        for version, (phase, model, mean, kind) in enumerate(STEPS, start=1):
            retrieval = {"top_k": 3, "retriever": "fts"} if phase == Phase.RAG else None
            config = save_configuration(
                NAME,
                ConfigurationDraft(
                    phase=phase, model=model, retrieval=retrieval, prompt_version_id=prompt.id
                ),
                session=session,
            )
            run = record_eval_run(_eval_run(config.id, mean), session=session)
            gates = [
                GateResult(
                    check="quality_gain",
                    status=GateStatus.PASS,
                    observed=mean,
                    threshold=0.0,
                    detail=f"gain to {mean}",
                ),
                GateResult(
                    check="latency", status=GateStatus.PASS, observed=180.0, threshold=2000.0
                ),
            ]
            if phase == Phase.FINE_TUNING:
                gates.append(
                    GateResult(
                        check="cost_break_even",
                        status=GateStatus.PASS,
                        observed=BREAK_EVEN["months"],
                        threshold=6.0,
                        evidence=BREAK_EVEN,
                    )
                )
            draft = DecisionDraft(
                kind=kind,
                to_phase=phase,
                configuration_id=config.id,
                candidate_configuration_id=config.id,
                decided_by="ana" if phase == Phase.FINE_TUNING else "phasegate",
                reason=HOSTILE if phase == Phase.FINE_TUNING else f"moved to {phase}",
                flow_run_id=run_ids[version - 1],
                eval_run_ids=[r.id for r in (previous, run) if r is not None],
                gate_results=gates,
            )
            record_decision(NAME, draft, expected_version=version, session=session)
            previous = run
        # `phasegate eval` of a prompt variant: no configuration, cited by no decision.
        extra = {"prompt": "few-shot", "kind": "few_shot", "model": "sandbox-base"}
        record_eval_run(
            _eval_run(None, 0.4432182840633545, purpose="cli", extra=extra), session=session
        )


def _write_report(tmp_path: Path, name: str) -> Path:
    target = tmp_path / "out" / name
    result = CliRunner().invoke(app, ["report", NAME, "-o", str(target)])
    assert result.exit_code == 0, result.output
    return target


@pytest.fixture(name="report")
def report_fixture(settings: Settings, tmp_path: Path) -> Path:
    """The HTML report of a use case in fine-tuning, written by the CLI with no Prefect API."""
    _fill_store(settings, tmp_path / "specs")
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        return _write_report(tmp_path, "report.html")


@flow(name="report-link-target")
def _linked() -> None:
    """A flow whose runs a report links to."""


def _flow_run_on_the_server() -> str:
    """The id of a new flow run on the configured Prefect API."""
    with get_client(sync_client=True) as client:
        return str(client.create_flow_run(_linked).id)


@pytest.fixture(name="linked_report")
def linked_report_fixture(
    prefect_api: None, settings: Settings, tmp_path: Path
) -> tuple[Path, list[str]]:
    """A report written against a real Prefect API that holds two of its three flow runs."""
    known = [_flow_run_on_the_server(), _flow_run_on_the_server()]
    _fill_store(settings, tmp_path / "specs", [*known, str(uuid.uuid4())])
    return _write_report(tmp_path, "linked.html"), known


def test_report_without_a_prefect_api_names_flow_runs_without_links(report: Path) -> None:
    html = report.read_text()
    assert 'href="' not in html
    assert "each check ran on a temporary Prefect server that ended with its command" in html


def test_report_with_a_silent_prefect_api_names_flow_runs_without_links(
    report: Path, tmp_path: Path
) -> None:
    with temporary_settings(updates={PREFECT_API_URL: f"{UI}/api"}):
        html = _write_report(tmp_path, "silent.html").read_text()
    assert 'href="' not in html
    assert f"the Prefect API at {UI}/api did not answer" in html


def test_report_writes_a_self_contained_file(report: Path) -> None:
    html = report.read_text()
    assert html.startswith("<!doctype html>")
    assert "http://" not in html and "https://" not in html
    assert re.search(r"\b(src|href)\s*=|url\(|@import", html) is None


def test_report_shows_each_decision_and_every_eval_run_including_cli_ones(report: Path) -> None:
    html = report.read_text()
    for label in ("#1 prompting", "#2 rag", "#3 fine_tuning", "#4 cli"):
        assert label in html
    assert "phasegate eval · few-shot · sandbox-base" in html
    # Configurations are named as the CLI names them, their id and model beside.
    runs = " ".join(_text(html[html.index('<table id="eval-runs">') :]).split())
    assert "few-shot + RAG top-3 #2 · sandbox-base" in runs
    per_query = " ".join(_text(html[html.index('<table id="per-query">') :]).split())
    assert "few-shot + RAG top-3 #2 rag sandbox-base" in per_query
    assert "moved to prompting" in html and "moved to rag" in html
    assert html.count("<h3>Decision ") == 3


def _text(html: str) -> str:
    """The visible text of the page: tags, the style sheet and entities dropped."""
    body = re.sub(r"<style>.*?</style>|<title>.*?</title>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", body))


def test_report_formats_numbers_with_units_and_no_raw_floats(report: Path) -> None:
    text = _text(report.read_text())
    assert re.search(r"\d\.\d{5,}", text.replace("$0.000", "")) is None, "a raw float"
    assert "None" not in text
    for shown in ("0.443", "0.620", "180 ms", "2.00 s", "$0.000800", "0 %", "250 + 20"):
        assert shown in text, shown


def test_report_prices_each_move_in_its_costs_section(report: Path) -> None:
    html = report.read_text()
    costs = _text(
        html[
            html.index('<table id="costs">') : html.index(
                "</table>", html.index('<table id="costs">')
            )
        ]
    )
    assert (
        costs.split()
        == (
            "decision move configurations training cost/query now cost/query after "
            "hosting/month queries (30 days) savings/month break-even allowed status "
            "3 rag → fine_tuning few-shot + RAG top-3 → few-shot "
            "$9.60 $0.000812 $0.000231 $0 9,000 $5.23 "
            "1.84 months 6.00 months pass"
        ).split()
    )


def _day(settings: Settings) -> str:
    """The UTC day the store's first decision was recorded."""
    with store_session(settings.store_url) as session:
        first = list_decisions(NAME, session=session)[0]
    return f"{first.created_at.astimezone(UTC):%Y-%m-%d}"


def test_report_dates_the_decisions_and_the_chart_axis(report: Path, settings: Settings) -> None:
    html = report.read_text()
    today = _day(settings)
    assert re.findall(r'<text class="axis-date"[^>]*>([^<]*)</text>', html) == [today, "", "", ""]
    assert len(re.findall(r'<text class="axis-time"[^>]*>\d\d:\d\d</text>', html)) == 4
    assert _text(html).count(f"{today} ") >= 3 + 4


def test_report_links_the_flow_runs_its_prefect_server_holds(
    linked_report: tuple[Path, list[str]],
) -> None:
    path, known = linked_report
    html = path.read_text()
    ui = PREFECT_UI_URL.value()
    links = re.findall(r'href="([^"]*)"', html)
    # The third decision's flow run ran elsewhere (a temporary server): no link to it.
    assert sorted(links) == sorted(f"{ui}/runs/flow-run/{run}" for run in known)
    assert "1 of 3 flow runs are not on the Prefect server at " in html


def test_report_escapes_text_from_the_store(report: Path) -> None:
    html = report.read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;approver&#39;)&lt;/script&gt; &amp; more" in html


def _png_rows(data: bytes) -> Iterator[bytes]:
    """The pixel rows (RGB or RGBA, 8 bits) of a non-interlaced PNG, unfiltered."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, bytearray()
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert (depth, interlace) == (8, 0) and colour in (2, 6), (depth, colour, interlace)
    bpp = 3 if colour == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(bytes(idat))
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + (left + previous[i]) // 2) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = previous[i], previous[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                nearest = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + nearest) & 0xFF
        previous = line
        rgb = bytearray(line)
        if bpp == 4:
            del rgb[3::4]
        yield bytes(rgb)


Blob = tuple[int, int, int]


def _blobs(png: Path, colours: dict[str, str]) -> tuple[dict[str, list[Blob]], int]:
    """(width, height, pixels) of each blob of exactly each colour; and the non-white pixels."""
    wanted = {bytes.fromhex(hex_.lstrip("#")): name for name, hex_ in colours.items()}
    found: dict[str, set[tuple[int, int]]] = {name: set() for name in colours}
    inked = 0
    for y, row in enumerate(_png_rows(png.read_bytes())):
        for x in range(0, len(row), 3):
            pixel = row[x : x + 3]
            if pixel != b"\xff\xff\xff":
                inked += 1
                if (name := wanted.get(pixel)) is not None:
                    found[name].add((x // 3, y))
    blobs: dict[str, list[Blob]] = {}
    for name, pixels in found.items():
        blobs[name] = []
        while pixels:
            stack, blob = [pixels.pop()], []
            while stack:
                x, y = stack.pop()
                blob.append((x, y))
                for near in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                    if near in pixels:
                        pixels.remove(near)
                        stack.append(near)
            xs, ys = [p[0] for p in blob], [p[1] for p in blob]
            blobs[name].append((max(xs) - min(xs) + 1, max(ys) - min(ys) + 1, len(blob)))
    return blobs, inked


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def _chromium(tmp_path: Path, *args: str) -> str:
    """Run headless Chromium with `args`; returns what it prints (the DOM for --dump-dom)."""
    done = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--user-data-dir={tmp_path / 'chromium'}",
            "--window-size=1200,900",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    shutil.rmtree(tmp_path / "chromium", ignore_errors=True)
    return done.stdout


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_report_draws_a_bar_per_eval_run_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    png = tmp_path / "report.png"
    _chromium(tmp_path, f"--screenshot={png}", report.as_uri())
    blobs, inked = _blobs(png, PHASE_COLOURS | {"cli": CLI_COLOUR})
    assert inked > 1200 * 900 // 100, "the page is (nearly) blank"
    # A bar is an 18 × 8 rectangle (its interval line runs through it); the legend and
    # badge pills of the same colours are wider, text is thinner.
    bars = {
        name: [b for b in found if 14 <= b[0] <= 22 and b[2] >= 14 * 6]
        for name, found in blobs.items()
    }
    assert {name: len(found) for name, found in bars.items()} == {
        "prompting": 1,
        "rag": 1,
        "fine_tuning": 1,
        "cli": 1,
    }, blobs


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_report_as_chromium_renders_it_shows_units_and_dates(
    report: Path, tmp_path: Path, settings: Settings
) -> None:
    dom = _chromium(tmp_path, "--dump-dom", report.as_uri())
    text = _text(dom)
    today = _day(settings)
    axis = re.findall(r'<text class="axis-date"[^>]*>([^<]*)</text>', dom)
    assert axis[0] == today
    for shown in ("180 ms", "$0.000800", "1.84 months", f"{today} ", "UTC"):
        assert shown in text, shown
    assert "None" not in text
