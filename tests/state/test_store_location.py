"""The store's location read without pydantic agrees with `Settings`, or leaves it to them."""

import os
from pathlib import Path

import pytest

from state import store_location as light
from state.settings import Settings, load_settings

# case: (environment, .env file or None)
AGREE = {
    "defaults": ({}, None),
    "data dir": ({"PHASEGATE_DATA_DIR": "/srv/phasegate"}, None),
    "empty data dir": ({"PHASEGATE_DATA_DIR": ""}, None),
    "lower-case name": ({"phasegate_data_dir": "lower"}, None),
    "SQLite URL": ({"PHASEGATE_DATABASE_URL": "sqlite:////tmp/s.db"}, None),
    "PostgreSQL URL": ({"PHASEGATE_DATABASE_URL": "postgresql://u:p@db:5432/pg"}, None),
    "from .env": ({}, "PHASEGATE_DATA_DIR=from-file\nPHASEGATE_DATABASE_URL='sqlite:///f.db'\n"),
    "environment beats .env": ({"PHASEGATE_DATA_DIR": "env"}, "PHASEGATE_DATA_DIR=file\n"),
    "export and comments in .env": ({}, '# store\nexport PHASEGATE_DATA_DIR="a b"  # here\n'),
    "settings of any text": (
        {"PHASEGATE_API_KEY": "sk-x", "PHASEGATE_BASE_URL": "http://h/v1", "OTHER": "1"},
        "PHASEGATE_DEFAULT_MODEL=gpt-4o\nUNRELATED=1\nPHASEGATE_NOT_A_SETTING=[\n",
    ),
    "not a setting": ({"PHASEGATE_TEST_POSTGRES_URL": "postgresql://x/y"}, None),
}
# case: (environment, .env file or None): Settings must decide (check a value, or refuse it)
DEFER = {
    "a number to check": ({"PHASEGATE_CONCURRENCY": "8"}, None),
    "a number to check in .env": ({}, "PHASEGATE_RETENTION_DAYS=30\n"),
    "secrets to check": ({"phasegate_webhook_secret": "whsec_x"}, None),
    "a refused URL": ({"PHASEGATE_DATABASE_URL": "mysql://db/x"}, None),
    "an empty URL": ({"PHASEGATE_DATABASE_URL": ""}, None),
    "a name without value in .env": ({}, "PHASEGATE_DATA_DIR\n"),
    ".env not UTF-8": ({}, b"PHASEGATE_DATA_DIR=\xff\n"),
}


@pytest.fixture(name="environment")
def environment_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A function that sets the PHASEGATE_* environment and the .env file of the working dir."""
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.lower().startswith("phasegate_"):
            monkeypatch.delenv(key)

    def _set(variables: dict[str, str], env_file: str | bytes | None) -> None:
        for key, value in variables.items():
            monkeypatch.setenv(key, value)
        if isinstance(env_file, bytes):
            (tmp_path / ".env").write_bytes(env_file)
        elif env_file is not None:
            (tmp_path / ".env").write_text(env_file)

    return _set


def test_every_setting_is_read_checked_or_free_text() -> None:
    assert light.READ | light.ANY_TEXT | light.CHECKED == set(Settings.model_fields)


@pytest.mark.parametrize("case", sorted(AGREE))
def test_store_location_agrees_with_settings(environment, case: str) -> None:
    environment(*AGREE[case])
    location, settings = light.store_location(), Settings()
    assert location is not None
    assert (location.data_dir, location.database_url) == (settings.data_dir, settings.database_url)
    assert location.store_url == settings.store_url


@pytest.mark.parametrize("case", sorted(DEFER))
def test_store_location_leaves_a_setting_to_check_to_settings(environment, case: str) -> None:
    environment(*DEFER[case])
    assert light.store_location() is None


@pytest.mark.parametrize("field", sorted(light.ANY_TEXT))
def test_free_text_settings_take_any_text(environment, field: str) -> None:
    environment({f"PHASEGATE_{field.upper()}": " {not: [json, a url or a number} "}, None)
    assert load_settings()
    environment({f"PHASEGATE_{field.upper()}": ""}, None)
    assert load_settings()
