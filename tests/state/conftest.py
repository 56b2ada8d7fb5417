"""Shared fixtures of the store tests: a registered use case on each backend."""

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from state.db import session_scope
from state.spec import load_spec
from state.use_cases import apply_spec
from tests.specs import write_spec


@pytest.fixture(name="use_case")
def use_case_fixture(tmp_path: Path, engine: Engine) -> str:
    """A registered use case called demo-qa."""
    with session_scope(engine) as session:
        apply_spec(load_spec(write_spec(tmp_path)), session=session)
    return "demo-qa"
