"""The spec's `generation:` and `answers:`: validation, hashes, configurations keeping them."""

import hashlib
import json
from pathlib import Path

import pytest
from sqlmodel import Session

from state import configurations
from state.domain import ConfigurationDraft
from state.errors import SpecError
from state.phases import Phase
from state.spec import load_spec
from tests.specs import write_spec

GENERATION = {"max_tokens": 24, "temperature": 0.2, "stop": ["\n\n", "###"]}
ANSWERS = {"pattern": r"Answer:\s*(?P<answer>.+)", "lowercase": False}


def test_spec_without_generation_leaves_it_out_of_its_canonical_json(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path)).spec
    data = json.loads(spec.canonical_json())
    assert "generation" not in data and "answers" not in data
    assert spec.spec_hash() == hashlib.sha256(spec.canonical_json().encode()).hexdigest()


def test_spec_generation_and_answers_change_the_hash(tmp_path: Path) -> None:
    plain = load_spec(write_spec(tmp_path / "a")).spec
    tuned = load_spec(write_spec(tmp_path / "b", generation=GENERATION)).spec
    extracted = load_spec(write_spec(tmp_path / "c", answers=ANSWERS)).spec
    assert len({plain.spec_hash(), tuned.spec_hash(), extracted.spec_hash()}) == 3
    assert tuned.generation.stop == ["\n\n", "###"]
    assert extracted.answers.strip_prefixes == ["Answer:"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"generation": {"max_tokens": 0}}, "generation.max_tokens: must be ≥ 1"),
        ({"generation": {"temperature": 3}}, "generation.temperature: must be ≤ 2"),
        ({"generation": {"stop": ["a", "b", "c", "d", "e"]}}, "generation.stop"),
        ({"generation": {"stop": [""]}}, "stop sequences must not be empty"),
        ({"generation": {"top_p": 1}}, "generation.top_p: unknown field"),
        ({"answers": {"pattern": "(open"}}, "answers: Value error, pattern is not a regular"),
    ],
)
def test_spec_generation_errors_name_the_field(tmp_path: Path, overrides: dict, message: str):
    path = write_spec(tmp_path, **overrides)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_configuration_without_generation_keeps_its_content_hash(
    use_case: str, session: Session
) -> None:
    draft = ConfigurationDraft(phase=Phase.RAG, model="m", retrieval={"top_k": 3})
    # The content of a configuration as hashed before `generation` and `answers` existed.
    before = {
        "phase": "rag",
        "model": "m",
        "prompt_version_id": None,
        "model_version_id": None,
        "retrieval": {"top_k": 3},
        "routing": None,
    }
    canonical = json.dumps(before, sort_keys=True, separators=(",", ":"))
    saved = configurations.save_configuration(use_case, draft, session=session)
    assert saved.content_hash == hashlib.sha256(canonical.encode()).hexdigest()


def test_configuration_keeps_generation_and_answers(use_case: str, session: Session) -> None:
    plain = ConfigurationDraft(phase=Phase.PROMPTING, model="m")
    draft = plain.model_copy(update={"generation": GENERATION, "answers": ANSWERS})
    saved = configurations.save_configuration(use_case, draft, session=session)
    assert saved.id != configurations.save_configuration(use_case, plain, session=session).id
    loaded = configurations.get_configuration(saved.id, session=session)
    assert (loaded.generation, loaded.answers) == (GENERATION, ANSWERS)
