"""`phasegate report`: a self-contained HTML file that a browser draws with the phase colours."""

import re
import shutil
import struct
import subprocess
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from phasegate.cli import app
from phasegate.report_html import PHASE_COLOURS
from state.db import store_session
from state.domain import ConfigurationDraft, DecisionDraft, EvalRun, GateResult
from state.evals import record_eval_run
from state.phases import DecisionKind, GateStatus, Phase
from state.settings import Settings
from state.spec import load_spec
from state.store import apply_spec, record_decision, save_configuration
from tests.specs import write_spec

CHROMIUM = Path("/usr/bin/chromium")
NAME = "demo-qa"
HOSTILE = "<script>alert('approver')</script> & more"
#: (phase, model, mean) of the configuration active after each decision.
STEPS = [
    (Phase.PROMPTING, "sandbox-base", 0.31, DecisionKind.BASELINED),
    (Phase.RAG, "sandbox-base", 0.62, DecisionKind.ADVANCED),
    (Phase.FINE_TUNING, "ft:sandbox-base:demo:1", 0.93, DecisionKind.ADVANCED),
]


def _eval_run(configuration_id: int, mean: float) -> EvalRun:
    return EvalRun(
        use_case=NAME,
        configuration_id=configuration_id,
        eval_set_hash="e" * 64,
        metric="token_f1",
        n=40,
        mean=mean,
        ci_low=mean - 0.05,
        ci_high=mean + 0.05,
        error_rate=0.0,
        latency_p50_ms=90.0,
        latency_p95_ms=180.0,
        prompt_tokens_per_query=250.0,
        completion_tokens_per_query=20.0,
        cost_per_query=0.0008,
    )


def _fill_store(settings: Settings, specs_dir: Path) -> None:
    """A use case that went prompting → RAG → fine-tuning, written through store functions."""
    with store_session(settings.store_url) as session:
        apply_spec(load_spec(write_spec(specs_dir, name=NAME)), session=session)
        previous = None
        for version, (phase, model, mean, kind) in enumerate(STEPS, start=1):
            retrieval = {"top_k": 3, "retriever": "fts"} if phase == Phase.RAG else None
            config = save_configuration(
                NAME,
                ConfigurationDraft(phase=phase, model=model, retrieval=retrieval),
                session=session,
            )
            run = record_eval_run(_eval_run(config.id, mean), session=session)
            gate = GateResult(
                check="quality_gain",
                status=GateStatus.PASS,
                observed=mean,
                threshold=0.0,
                detail=f"gain to {mean}",
            )
            draft = DecisionDraft(
                kind=kind,
                to_phase=phase,
                configuration_id=config.id,
                candidate_configuration_id=config.id,
                decided_by="ana" if phase == Phase.FINE_TUNING else "phasegate",
                reason=HOSTILE if phase == Phase.FINE_TUNING else f"moved to {phase}",
                flow_run_id=str(uuid.uuid4()),
                eval_run_ids=[r.id for r in (previous, run) if r is not None],
                gate_results=[gate],
            )
            record_decision(NAME, draft, expected_version=version, session=session)
            previous = run


@pytest.fixture(name="report")
def report_fixture(settings: Settings, tmp_path: Path) -> Path:
    """The HTML report of a use case in fine-tuning, written by the CLI."""
    _fill_store(settings, tmp_path / "specs")
    target = tmp_path / "out" / "report.html"
    result = CliRunner().invoke(app, ["report", NAME, "-o", str(target)])
    assert result.exit_code == 0, result.output
    return target


def test_report_writes_a_self_contained_file(report: Path) -> None:
    html = report.read_text()
    assert html.startswith("<!doctype html>")
    assert "http://" not in html and "https://" not in html
    assert re.search(r"\b(src|href)\s*=|url\(|@import", html) is None


def test_report_shows_each_decision_and_eval_run(report: Path) -> None:
    html = report.read_text()
    for label in ("#1 prompting", "#2 rag", "#3 fine_tuning"):
        assert label in html
    assert "moved to prompting" in html and "moved to rag" in html
    assert html.count("<h3>Decision ") == 3


def test_report_escapes_text_from_the_store(report: Path) -> None:
    html = report.read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;approver&#x27;)&lt;/script&gt; &amp; more" in html


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
def test_report_draws_a_bar_per_phase_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    png = tmp_path / "report.png"
    subprocess.run(
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
            f"--screenshot={png}",
            "--window-size=1200,900",
            report.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    blobs, inked = _blobs(png, PHASE_COLOURS)
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
    }, blobs
    shutil.rmtree(tmp_path / "chromium", ignore_errors=True)
