"""deploy/: the deployments on a Docker and a Kubernetes pool, checked with Prefect's models."""

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.cli.deploy._models import PrefectYamlModel
from prefect.utilities.schema_tools import validate
from prefect.utilities.templating import apply_values

ROOT = Path(__file__).resolve().parent.parent
POOLS = {
    "docker": ("phasegate-docker", ROOT / "deploy/docker"),
    "kubernetes": ("phasegate-k8s", ROOT / "deploy/kubernetes"),
}
IMAGE_DIRECTORY = "/opt/phasegate"
# What a pool file may change: only where the runs go.
SAME_AS_PROCESS_POOL = (
    "name",
    "entrypoint",
    "description",
    "tags",
    "triggers",
    "schedules",
    "concurrency_limit",
)
SECRET_VALUE = re.compile(r"sk-|whsec_|://[^/@\s]+:[^/@\s]+@|password=", re.IGNORECASE)


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def _pool_file(pool: str) -> dict[str, Any]:
    return _load(POOLS[pool][1] / "prefect.yaml")


def _template(pool: str) -> dict[str, Any]:
    return json.loads((POOLS[pool][1] / "base-job-template.json").read_text())


def _job_variables(pool: str) -> dict[str, Any]:
    (work_pool,) = {json.dumps(d["work_pool"]) for d in _pool_file(pool)["deployments"]}
    return json.loads(work_pool)["job_variables"]


@pytest.mark.parametrize("pool", sorted(POOLS))
def test_pool_file_is_a_valid_prefect_yaml(pool: str) -> None:
    model = PrefectYamlModel.model_validate(_pool_file(pool))
    assert {d.work_pool.name for d in model.deployments} == {POOLS[pool][0]}


@pytest.mark.parametrize("pool", sorted(POOLS))
def test_pool_file_declares_the_deployments_of_prefect_yaml(pool: str) -> None:
    def shape(document: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {key: d.get(key) for key in SAME_AS_PROCESS_POOL}
            for d in sorted(document["deployments"], key=lambda d: d["name"])
        ]

    assert shape(_pool_file(pool)) == shape(_load(ROOT / "prefect.yaml"))


@pytest.mark.parametrize("pool", sorted(POOLS))
def test_pool_file_runs_from_the_image_directory(pool: str) -> None:
    (step,) = _pool_file(pool)["pull"]
    assert step == {
        "prefect.deployments.steps.set_working_directory": {"directory": IMAGE_DIRECTORY}
    }
    assert f"WORKDIR {IMAGE_DIRECTORY}" in (ROOT / "deploy/Dockerfile").read_text()


@pytest.mark.parametrize("pool", sorted(POOLS))
def test_pool_job_variables_are_valid_for_the_pool_template(pool: str) -> None:
    variables = _job_variables(pool)
    schema = _template(pool)["variables"]
    validate(variables, schema, raise_on_error=True, preprocess=True, ignore_required=True)
    assert set(variables) <= set(schema["properties"])
    assert variables["image"]


@pytest.mark.parametrize("pool", sorted(POOLS))
def test_pool_file_holds_no_secret_value(pool: str) -> None:
    env = _job_variables(pool).get("env", {})
    assert [value for value in env.values() if SECRET_VALUE.search(str(value))] == []
    block_references = [v for v in env.values() if "prefect.blocks" in str(v)]
    reference = re.compile(r"\{\{ prefect\.blocks\.secret\.[\w-]+ \}\}")
    assert all(reference.fullmatch(v) for v in block_references)


def test_kubernetes_pods_take_their_settings_from_a_kubernetes_secret() -> None:
    template = _template("kubernetes")
    defaults = {k: v.get("default") for k, v in template["variables"]["properties"].items()}
    values = defaults | _job_variables("kubernetes")
    manifest = apply_values(template["job_configuration"], values)["job_manifest"]
    (container,) = manifest["spec"]["template"]["spec"]["containers"]
    assert container["envFrom"] == [{"secretRef": {"name": "phasegate-env"}}]
    assert container["image"] == _job_variables("kubernetes")["image"]
    assert manifest["metadata"]["namespace"] == "phasegate"


def test_pool_files_are_rendered_from_prefect_yaml() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "render.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_image_installs_every_package_from_the_constraints() -> None:
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    assert "pip install -c constraints.txt ." in dockerfile
    pyproject = (ROOT / "pyproject.toml").read_text()
    packages = re.search(r"include = \[(.*?)\]", pyproject).group(1)
    for package in re.findall(r'"(\w+)\*"', packages):
        assert f"COPY {package} ./{package}" in dockerfile
