"""The optional local model's edges that need no model: the real spec, a missing extra (exit 3)."""

from pathlib import Path

import pytest

from phasegate import local_model
from phasegate.cli.exits import run
from phasegate.demo import ROOT
from phasegate.demo_real import SPEC
from state.errors import Unavailable
from state.settings import Settings
from state.spec import load_spec


@pytest.fixture(name="no_extra")
def no_extra_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend that one module of the extra is not installed."""
    monkeypatch.setattr(local_model, "EXTRA", ("llama_cpp", "phasegate_no_such_module"))


def test_require_extra_names_what_is_missing_and_how_to_install_it(no_extra: None) -> None:
    assert "phasegate_no_such_module" in local_model.missing_extra()
    with pytest.raises(
        Unavailable, match=r"phasegate_no_such_module.*pip install -e '\.\[local\]'"
    ):
        local_model.require_extra()


def test_assemble_model_without_the_extra_writes_nothing(no_extra: None, tmp_path: Path) -> None:
    with pytest.raises(Unavailable):
        local_model.assemble_model(tmp_path / "models")
    assert not (tmp_path / "models").exists()


def test_demo_real_without_the_extra_exits_3_naming_it(
    no_extra: None, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["demo-real"]) == 3
    err = capsys.readouterr().err
    assert "phasegate_no_such_module" in err and "make demo-real" in err
    assert "Traceback" not in err


def test_real_spec_is_valid_and_scores_every_fourth_support_qa_item() -> None:
    loaded = load_spec(SPEC)
    assert loaded.spec.generation.max_tokens and loaded.spec.answers is not None
    full = (ROOT / "usecases" / "support-qa" / "eval.jsonl").read_text().splitlines()
    subset = loaded.data_path("eval").read_text().splitlines()
    assert subset == full[::4]
    assert len(subset) >= loaded.spec.gates.prompting_to_rag.min_paired
