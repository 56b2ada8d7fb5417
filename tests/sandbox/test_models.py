"""Model listing and retrieval."""

from __future__ import annotations

import openai
import pytest

from tests.sandbox.helpers import client_for


def test_models_list_contains_base_models(sandbox_url: str) -> None:
    ids = [model.id for model in client_for(sandbox_url).models.list()]
    assert ids[:3] == ["sandbox-base", "sandbox-small", "sandbox-judge"]


def test_models_retrieve_base_model(sandbox_url: str) -> None:
    model = client_for(sandbox_url).models.retrieve("sandbox-judge")
    assert model.id == "sandbox-judge" and model.object == "model"


def test_models_retrieve_unknown_is_404(sandbox_url: str) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client_for(sandbox_url).models.retrieve("ft:sandbox-base:none:deadbeef")
    assert info.value.code == "model_not_found"
