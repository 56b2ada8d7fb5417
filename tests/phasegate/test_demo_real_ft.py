"""`demo-real-ft`'s edges that need no model: its spec, a missing extra (exit 3), its tables."""

import json
from pathlib import Path

import pytest

from phasegate import open_model
from phasegate.cli.exits import run
from phasegate.demo import ROOT
from phasegate.demo_real_ft import NAME, SPEC, training_table
from state.settings import Settings
from state.spec import load_spec
from tasks.eval_sets import load_eval_set
from tasks.training_data import prepare_training_set


def test_demo_real_ft_without_the_extra_exits_3_naming_it(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(open_model, "EXTRA", ("torch", "phasegate_no_such_module"))
    assert run(["demo-real-ft"]) == 3
    err = capsys.readouterr().err
    assert "phasegate_no_such_module" in err and "make demo-real-ft" in err
    assert "Traceback" not in err


def test_ft_spec_tunes_locally_on_every_sixth_support_qa_example() -> None:
    loaded = load_spec(SPEC)
    spec = loaded.spec
    assert spec.name == NAME and spec.fine_tuning.trainer == "local"
    full = (ROOT / "usecases" / "support-qa" / "train.jsonl").read_text().splitlines()
    assert loaded.data_path("training").read_text().splitlines() == full[::6]
    # The training data passes the data gate as it is: clean, no eval item leaked, enough.
    items, _ = load_eval_set(loaded.data_path("eval"))
    prepared = prepare_training_set(spec, str(loaded.data_path("training")), items, [])
    assert not prepared.report.errors
    assert len(prepared.report.examples) >= spec.gates.rag_to_fine_tuning.min_examples
    assert len(items) >= spec.gates.rag_to_fine_tuning.min_paired


def test_training_table_lists_every_checkpoint_with_its_loss(tmp_path: Path) -> None:
    job = tmp_path / "jobs" / "ftjob-local-0123456789abcdef"
    job.mkdir(parents=True)
    request = {"id": job.name, "n_epochs": 2, "created_at": 1}
    (job / "request.json").write_text(json.dumps(request))
    (job / "status.json").write_text(json.dumps({"started_at": 10.0, "finished_at": 70.0}))
    checkpoints = [
        {"model": f"ft:m:s:01234567:ckpt-step-{step}", "metrics": {"train_loss": loss}}
        for step, loss in ((3, 3.2), (6, 1.9))
    ]
    (job / "checkpoints.jsonl").write_text("".join(json.dumps(c) + "\n" for c in checkpoints))
    table = training_table(tmp_path, {})
    assert table.row_count == 2
    assert list(table.columns[2].cells) == ["3.200", "1.900"]
    # No validation run of these checkpoints in the store: shown as missing, never invented.
    assert list(table.columns[3].cells) == ["—", "—"]
    assert list(table.columns[5].cells) == ["60 s", ""]
    # A job that has not finished has no training time yet.
    (job / "status.json").write_text(json.dumps({"started_at": 10.0}))
    assert list(training_table(tmp_path, {}).columns[5].cells) == ["", ""]
