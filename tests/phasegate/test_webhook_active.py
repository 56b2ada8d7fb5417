"""The webhook's active configuration: its body, its ETag and what it resolves."""

import hashlib
import time

from fastapi.testclient import TestClient

from phasegate.signing import signed_request
from state import configurations, decisions, use_cases
from state.db import store_session
from state.domain import ConfigurationDraft, DecisionDraft
from state.model_versions import record_model_version
from state.phases import DecisionKind, Phase
from state.prompt_library import save_prompt_version
from state.settings import Settings
from state.spec import PromptVariant
from tests.phasegate import webhook_client
from tests.phasegate.webhook_client import ACTIVE, NAME, SECRET, Emitted


def test_active_of_a_new_use_case_is_prompting_without_configuration(client: TestClient) -> None:
    response = webhook_client.get(client, ACTIVE)
    assert response.status_code == 200
    assert response.json() == {
        "use_case": NAME,
        "phase": "prompting",
        "configuration": None,
        "prompt": None,
        "tuned_model": None,
        "version": 1,
        "arm": "control",
        "rollout": None,
    }


def test_active_etag_is_the_sha256_of_the_body(client: TestClient) -> None:
    response = webhook_client.get(client, ACTIVE)
    assert response.headers["etag"] == f'"{hashlib.sha256(response.content).hexdigest()}"'


def test_active_with_matching_if_none_match_is_304_without_body(client: TestClient) -> None:
    etag = webhook_client.get(client, ACTIVE).headers["etag"]
    _, signed = signed_request(SECRET, "GET", ACTIVE, now=time.time() - 1)
    response = client.get(ACTIVE, headers={**signed, "If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag


def test_active_shows_the_configuration_made_active_and_changes_its_etag(
    any_store_settings: Settings, emitted: Emitted
) -> None:
    client = webhook_client.seeing_every_change(any_store_settings, emitted)
    old_etag = webhook_client.get(client, ACTIVE, **{"If-None-Match": '"x"'}).headers["etag"]
    with store_session(any_store_settings.store_url) as session:
        configuration = configurations.save_configuration(
            NAME, ConfigurationDraft(phase=Phase.PROMPTING, model="sandbox-base"), session=session
        )
        decisions.record_decision(
            NAME,
            DecisionDraft(
                kind=DecisionKind.BASELINED,
                to_phase=Phase.PROMPTING,
                configuration_id=configuration.id,
            ),
            expected_version=1,
            session=session,
        )
    response = webhook_client.get(client, ACTIVE, **{"If-None-Match": old_etag})
    assert response.status_code == 200
    assert response.headers["etag"] != old_etag
    assert response.json()["configuration"] == configuration.model_dump(mode="json")
    assert response.json()["version"] == 2


def test_active_resolves_the_prompt_text_and_the_tuned_model(
    client: TestClient, webhook_settings: Settings
) -> None:
    variant = PromptVariant(
        name="support", kind="few_shot", system="Be brief.", template="Q: {input}", k=3
    )
    with store_session(webhook_settings.store_url) as session:
        prompt = save_prompt_version(NAME, variant, session=session)
        tuned = record_model_version(
            NAME,
            model_id="ft:sandbox-base:demo-qa:1",
            base_model="sandbox-base",
            training_file_id="file-1",
            training_file_hash="ab" * 32,
            job_id="ftjob-1",
            hyperparameters={"n_epochs": 3},
            checkpoints=[],
            metrics={},
            session=session,
        )
        draft = ConfigurationDraft(
            phase=Phase.FINE_TUNING,
            model=tuned.model_id,
            prompt_version_id=prompt.id,
            model_version_id=tuned.id,
        )
        configuration = configurations.save_configuration(NAME, draft, session=session)
        version = use_cases.require_use_case(NAME, session=session).version
        decisions.record_decision(
            NAME,
            DecisionDraft(
                kind=DecisionKind.BASELINED,
                to_phase=Phase.FINE_TUNING,
                configuration_id=configuration.id,
            ),
            expected_version=version,
            session=session,
        )
    body = webhook_client.get(client, ACTIVE).json()
    assert body["prompt"] == {
        "label": "support@v1",
        "kind": "few_shot",
        "system": "Be brief.",
        "template": "Q: {input}",
        "k": 3,
        "content_hash": prompt.content_hash,
    }
    assert body["tuned_model"] == {
        "model_id": "ft:sandbox-base:demo-qa:1",
        "base_model": "sandbox-base",
        "training_file_hash": "ab" * 32,
        "job_id": "ftjob-1",
    }
    assert body["configuration"]["model"] == "ft:sandbox-base:demo-qa:1"
