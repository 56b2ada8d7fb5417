"""docs/webhooks.md's sender example, run as written with the oldest standardwebhooks release
(1.0.0, installed for the test beside the project's) and the installed one: the webhook API
accepts what it signs.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.phasegate.webhook_client import ACTIVE, ONE_COUNT, SECRET, USAGE

ROOT = Path(__file__).resolve().parents[2]
OLDEST = "1.0.0"  # the first release on PyPI; 1.0.0–1.1.0 sign a str only


def _sender_example() -> str:
    """The example's code up to its requests: the imports, `hook` and `signed`."""
    text = (ROOT / "docs" / "webhooks.md").read_text()
    section = text.split("### Sending, in Python with `standardwebhooks`", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)[1]
    return code.split("\nusage = ", 1)[0]


# Runs the example's `signed` and prints what it would send, for the app under test.
DRIVER = """
import json, standardwebhooks, sys
SECRET = sys.argv[1]
{example}
out = []
for method, path, payload in json.loads(sys.argv[2]):
    request = signed(method, path, payload)
    out.append({{"headers": dict(request.headers), "content": request.content.decode()}})
print(json.dumps({{"version": standardwebhooks.__file__, "requests": out}}))
"""


@pytest.fixture(name="oldest_release", scope="session")
def oldest_release_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding standardwebhooks 1.0.0 alone (its dependencies are the venv's)."""
    target = tmp_path_factory.mktemp("standardwebhooks-oldest")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target)]
        + [f"standardwebhooks=={OLDEST}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        pytest.skip(f"standardwebhooks {OLDEST} cannot be installed here: {done.stderr[-300:]}")
    return target


def _send_as_documented(client: TestClient, library: Path | None) -> list[int]:
    """Sign a POST and a GET with the example's code; the statuses the app answers."""
    calls = [["POST", USAGE, ONE_COUNT], ["GET", ACTIVE, None]]
    env = {"PYTHONPATH": str(library)} if library else {}
    done = subprocess.run(
        [sys.executable, "-c", DRIVER.format(example=_sender_example()), SECRET, json.dumps(calls)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", **env},
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["version"].startswith(str(library or Path(sys.prefix)))
    statuses = []
    for (method, path, _), request in zip(calls, printed["requests"], strict=True):
        answer = client.request(
            method, path, content=request["content"].encode(), headers=request["headers"]
        )
        statuses.append(answer.status_code)
    return statuses


def test_sender_example_signs_requests_the_api_accepts_with_the_oldest_release(
    client: TestClient, oldest_release: Path
) -> None:
    assert _send_as_documented(client, oldest_release) == [200, 200]


def test_sender_example_signs_requests_the_api_accepts_with_the_installed_release(
    client: TestClient,
) -> None:
    assert _send_as_documented(client, None) == [200, 200]
