"""`phasegate prune`: a bad age exits 2 naming --older-than and removes nothing."""

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import func, select
from typer.testing import CliRunner

from phasegate.cli.commands import app
from phasegate.cli.prune import parse_age
from state import decisions, use_cases
from state.db import store_session
from state.domain import DecisionDraft
from state.errors import InputError
from state.models import DecisionRecord, utcnow
from state.phases import DecisionKind, Phase
from state.settings import Settings
from tests.specs import write_spec

runner = CliRunner()


@pytest.fixture(name="skipped")
def skipped_fixture(settings: Settings, tmp_path: Path) -> Settings:
    """demo-qa with one `skipped` decision 120 days old."""
    assert runner.invoke(app, ["apply", str(write_spec(tmp_path / "specs"))]).exit_code == 0
    with store_session(settings.store_url) as session:
        version = use_cases.require_use_case("demo-qa", session=session).version
        draft = DecisionDraft(kind=DecisionKind.SKIPPED, to_phase=Phase.RAG, flow_run_id="old")
        decisions.record_decision("demo-qa", draft, expected_version=version, session=session)
        session.execute(update(DecisionRecord).values(created_at=utcnow() - timedelta(days=120)))
    return settings


def _decisions(settings: Settings) -> int:
    with store_session(settings.store_url) as session:
        return session.exec(select(func.count()).select_from(DecisionRecord)).one()


@pytest.mark.parametrize(
    ("text", "age"), [("90d", timedelta(days=90)), ("12h", timedelta(hours=12))]
)
def test_parse_age_reads_days_and_hours(text: str, age: timedelta) -> None:
    assert parse_age(text) == age


@pytest.mark.parametrize("text", ["90", "0d", "-3d", "3w", "d"])
def test_parse_age_refuses_what_is_not_a_positive_age(text: str) -> None:
    with pytest.raises(InputError, match="--older-than"):
        parse_age(text)


def test_prune_removes_an_old_skipped_decision(skipped: Settings) -> None:
    result = runner.invoke(app, ["prune", "--older-than", "90d"])
    assert result.exit_code == 0, result.output
    assert "1 skipped decisions" in result.output
    assert _decisions(skipped) == 0


def test_prune_with_a_bad_age_exits_2_and_removes_nothing(skipped: Settings) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from phasegate.cli import main; main()",
            "prune",
            "--older-than",
            "ninety",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--older-than: expected a positive age" in result.stderr
    assert _decisions(skipped) == 1
