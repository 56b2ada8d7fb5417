"""Settings errors name the variable and never echo its value (it may be a secret)."""

from pathlib import Path

import pytest

from state.errors import SettingsError
from state.settings import (
    Settings,
    get_settings,
    load_settings,
    provider_options,
    trainer_options,
)

SECRET = "topsecret-9f2c"
SECRETS_SHAPE = 'must be a JSON object {"use-case": "whsec_… whsec_…"}'

BAD = {
    "malformed JSON secrets": (
        "WEBHOOK_SECRETS",
        '{"demo-qa": "' + SECRET + '", ',
        "PHASEGATE_WEBHOOK_SECRETS: Value error, " + SECRETS_SHAPE,
    ),
    "secrets as a list": (
        "WEBHOOK_SECRETS",
        f'["{SECRET}"]',
        "PHASEGATE_WEBHOOK_SECRETS: Value error, " + SECRETS_SHAPE,
    ),
    "not an integer": (
        "CONCURRENCY",
        SECRET,
        "PHASEGATE_CONCURRENCY: Input should be a valid integer, "
        "unable to parse string as an integer",
    ),
    "out of range": (
        "MAX_RETRIES",
        "99",
        "PHASEGATE_MAX_RETRIES: Input should be less than or equal to 20",
    ),
    "unknown URL scheme": (
        "DATABASE_URL",
        f"mysql://admin:{SECRET}@db/x",
        "PHASEGATE_DATABASE_URL: Value error, must be a sqlite:// or postgresql:// URL",
    ),
    "malformed JSON prices": (
        "PRICES",
        '{"m": {"input_per_m": ',
        "PHASEGATE_PRICES: not valid JSON",
    ),
    "nested price": (
        "PRICES",
        '{"m": {"input_per_m": -1, "output_per_m": 1}}',
        "PHASEGATE_PRICES (m.input_per_m): Input should be greater than or equal to 0",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_load_settings_names_the_variable_without_its_value(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    variable, value, message = BAD[case]
    monkeypatch.setenv(f"PHASEGATE_{variable}", value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value) == message
    assert SECRET not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_get_settings_raises_the_same_error(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHASEGATE_REQUEST_TIMEOUT", "0")
    get_settings.cache_clear()
    with pytest.raises(SettingsError, match="^PHASEGATE_REQUEST_TIMEOUT: Input should be greater"):
        get_settings()


def test_load_settings_names_a_dotenv_file_that_is_not_utf8(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_bytes(b"PHASEGATE_API_KEY=caf\xe9" + SECRET.encode() + b"\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value) == ".env: not UTF-8 (byte 21)"


def test_trainer_options_default_to_the_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHASEGATE_BASE_URL", "http://127.0.0.1:9/v1")
    options = trainer_options(load_settings()).provider
    assert options.base_url == "http://127.0.0.1:9/v1"
    assert options.api_key.get_secret_value() == "sk-sandbox"


def test_trainer_options_take_their_own_endpoint_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHASEGATE_TRAINER_BASE_URL", "https://example.openai.azure.com/openai/v1")
    monkeypatch.setenv("PHASEGATE_TRAINER_API_KEY", "azure-key")
    settings = load_settings()
    options = trainer_options(settings).provider
    assert options.base_url == "https://example.openai.azure.com/openai/v1"
    assert options.api_key.get_secret_value() == "azure-key"
    assert provider_options(settings).base_url == settings.base_url != options.base_url
