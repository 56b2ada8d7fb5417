"""The spec loader: valid specs, defaults, hashes and errors that name file and field."""

from pathlib import Path

import pytest
import yaml

from state.errors import SpecError
from state.spec import find_spec_files, load_spec
from tests.specs import write_spec


def test_load_spec_fills_design_defaults(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path)).spec
    assert spec.gates.rag_to_fine_tuning.min_examples == 500
    assert spec.gates.rag_to_fine_tuning.break_even_volume == 5000
    assert spec.gates.rag_to_fine_tuning.max_break_even_months == 6.0
    assert spec.gates.rag_to_fine_tuning.require_approval is True
    assert spec.gates.prompting_to_rag.min_paired == 30


def test_spec_hash_ignores_key_order_and_changes_with_a_threshold(tmp_path: Path) -> None:
    path = write_spec(tmp_path)
    first = load_spec(path).spec.spec_hash()
    raw = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump(dict(reversed(list(raw.items())))))
    assert load_spec(path).spec.spec_hash() == first
    raw["gates"] = {"prompting_to_rag": {"target": 0.5}}
    path.write_text(yaml.safe_dump(raw))
    assert load_spec(path).spec.spec_hash() != first


# The hash of `write_spec`'s spec before `gates.max_error_rate` existed: registered use cases
# must not look changed to `apply` because a field was added with a default.
HASH_BEFORE_MAX_ERROR_RATE = "2d4e16c95790f46f0978601d3ef35c4008cb121393b616b6c543e94bf116504a"


def test_spec_hash_stays_the_same_without_max_error_rate(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path)).spec
    assert spec.gates.max_error_rate == 0.02
    assert "max_error_rate" not in spec.canonical_json()
    assert spec.spec_hash() == HASH_BEFORE_MAX_ERROR_RATE


def test_spec_hash_same_for_default_max_error_rate_and_changes_with_another(
    tmp_path: Path,
) -> None:
    explicit = load_spec(write_spec(tmp_path / "a", gates={"max_error_rate": 0.02})).spec
    other = load_spec(write_spec(tmp_path / "b", gates={"max_error_rate": 0.1})).spec
    assert explicit.spec_hash() == HASH_BEFORE_MAX_ERROR_RATE
    assert other.spec_hash() != HASH_BEFORE_MAX_ERROR_RATE
    assert '"max_error_rate":0.1' in other.canonical_json()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"gates": {"rag_to_fine_tuning": {"min_examples": 0}}},
            "gates.rag_to_fine_tuning.min_examples: must be ≥ 1",
        ),
        ({"metric": "bleu"}, "metric: Input should be"),
        ({"task": 3}, "task: Input should be"),
        ({"gates": {"prompting_to_rag": {"target": "high"}}}, "gates.prompting_to_rag.target"),
        ({"data": {"eval": "missing.jsonl"}}, "data.eval: file not found: missing.jsonl"),
        ({"data": {"eval": "eval.jsonl", "documents": "docs"}}, "data.documents: directory"),
        (
            {"prompts": [{"name": "x", "kind": "zero_shot", "template": "no slot"}]},
            "prompts.0: Value error, template must contain {input}",
        ),
        ({"surprise": 1}, "surprise: unknown field"),
        ({"gates": {"max_error_rate": 1.5}}, "gates.max_error_rate: must be ≤ 1"),
        ({"fine_tuning": {"trainer": "vertex"}}, "fine_tuning.trainer: Input should be"),
        ({"fine_tuning": {"pilot": {"share": 1.0}}}, "fine_tuning.pilot.share: must be < 1"),
        (
            {
                "fine_tuning": {
                    "search": {"n_epochs": [1, 2, 3], "learning_rate_multiplier": [1, 2, 3]}
                }
            },  # noqa: E501
            "fine_tuning.search: Value error, 9 points; a search runs at most 8",
        ),
        (
            {"fine_tuning": {"search": {"n_epochs": [], "learning_rate_multiplier": [1]}}},
            "fine_tuning.search.n_epochs",
        ),
    ],
)
def test_load_spec_names_file_and_field(tmp_path: Path, overrides: dict, message: str) -> None:
    path = write_spec(tmp_path, **overrides)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_load_spec_reports_missing_field(tmp_path: Path) -> None:
    path = write_spec(tmp_path)
    raw = yaml.safe_load(path.read_text())
    del raw["metric"]
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(SpecError, match=r"demo-qa.yaml: metric: field required"):
        load_spec(path)


def test_load_spec_reports_yaml_syntax_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\ntask: [qa\nmetric: accuracy\n")
    with pytest.raises(SpecError, match=r"broken.yaml: line \d+: invalid YAML"):
        load_spec(path)


def test_find_spec_files_refuses_missing_path(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file or directory"):
        find_spec_files([tmp_path / "nope"])


def test_search_points_are_every_distinct_pair_in_order(tmp_path: Path) -> None:
    search = {"n_epochs": [2, 4, 2], "learning_rate_multiplier": [1.0, 0.5]}
    spec = load_spec(write_spec(tmp_path, fine_tuning={"search": search})).spec
    assert spec.fine_tuning.search.points() == [(2, 1.0), (2, 0.5), (4, 1.0), (4, 0.5)]


def test_spec_hash_stays_the_same_without_trainer_pilot_or_search(tmp_path: Path) -> None:
    def spec_hash(directory: str, **fine_tuning: object) -> str:
        path = write_spec(tmp_path / directory, fine_tuning=fine_tuning)
        return load_spec(path).spec.spec_hash()

    plain, named = spec_hash("a"), spec_hash("b", trainer="openai")
    assert plain == named != spec_hash("c", pilot={"share": 0.2})
