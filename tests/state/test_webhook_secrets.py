"""Webhook secrets in the settings: lists for rotation, and errors that never quote a secret."""

import pytest
from pydantic import ValidationError

from state.settings import Settings

OLD = "whsec_dGVzdC1zZWNyZXQtb2YtdGhpcnR5LXR3by1ieXRlcw=="
NEW = "whsec_b3RoZXItc2VjcmV0LW9mLXRoaXJ0eS10d28tYnl0ZXM="
# Looks like a secret but decodes to 11 bytes: refused, and must not be echoed.
LEAKY = "whsec_c2hvcnQtc2VjcmV0"


def _settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(f"PHASEGATE_{name.upper()}", value)
    return Settings(_env_file=None)


def _values(secrets: list) -> list[str]:
    return [secret.get_secret_value() for secret in secrets]


def test_shared_secrets_are_separated_by_spaces_or_commas(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _values(_settings(monkeypatch, webhook_secret=f"{OLD} {NEW}").webhook_secret) == [
        OLD,
        NEW,
    ]
    assert _values(_settings(monkeypatch, webhook_secret=f"{OLD},{NEW}").webhook_secret) == [
        OLD,
        NEW,
    ]


def test_use_case_secrets_are_a_json_object_of_lists_or_strings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _settings(
        monkeypatch, webhook_secrets=f'{{"support-qa": "{OLD} {NEW}", "triage": ["{NEW}"]}}'
    )
    assert {name: _values(s) for name, s in settings.webhook_secrets.items()} == {
        "support-qa": [OLD, NEW],
        "triage": [NEW],
    }


def test_no_secret_set_is_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PHASEGATE_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("PHASEGATE_WEBHOOK_SECRETS", raising=False)
    settings = Settings(_env_file=None)
    assert (settings.webhook_secret, settings.webhook_secrets) == ([], {})


BAD = {
    "shared not whsec": ({"webhook_secret": f"{OLD} {LEAKY}"}, "secret 2 of 2: must be whsec_"),
    "shared plain text": ({"webhook_secret": "hunter2-hunter2"}, "secret 1 of 1: must be whsec_"),
    "object not JSON": (
        {"webhook_secrets": f'{{"support-qa": "{LEAKY}"'},
        'must be a JSON object {"use-case"',
    ),
    "object a list": ({"webhook_secrets": f'["{LEAKY}"]'}, "must be a JSON object"),
    "short secret": (
        {"webhook_secrets": f'{{"support-qa": "{OLD} {LEAKY}"}}'},
        "support-qa: secret 2 of 2: must be whsec_ followed by 24 to 64 bytes in base64",
    ),
    "key is a secret": ({"webhook_secrets": f'{{"{LEAKY}": "{OLD}"}}'}, "key 1: not a use case"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_malformed_secret_is_refused_naming_its_place_never_its_value(
    monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    env, message = BAD[case]
    with pytest.raises(ValidationError) as caught:
        _settings(monkeypatch, **env)
    shown = str(caught.value) + repr(caught.value.errors(include_input=False))
    assert message in shown
    for secret in (LEAKY, OLD, "hunter2"):
        assert secret not in shown
    assert "c2hvcnQ" not in shown
