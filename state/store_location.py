"""Where the state store is, read from the environment as `Settings` reads it, without pydantic.

For commands that must start fast (`phasegate status`): importing pydantic-settings costs
more than such a command may spend. `PHASEGATE_DATA_DIR` and `PHASEGATE_DATABASE_URL` are read
here, from the environment or `.env` (the environment wins), as `Settings` reads them. When a
setting `Settings` would have to check is given (a number, a secret, a price table) or a value
is one it would refuse, the answer is None: the caller reads the full `Settings`, which
validates everything and says what is wrong.
"""

import os
from dataclasses import dataclass
from pathlib import Path

PREFIX = "phasegate_"
ENV_FILE = Path(".env")
READ = {"data_dir", "database_url"}
# Settings takes any text for these, so nothing is lost by not reading them here.
ANY_TEXT = {"base_url", "api_key", "default_model", "judge_model", "embedding_model"}
CHECKED = {
    "self_hosted",
    "concurrency",
    "request_timeout",
    "max_retries",
    "webhook_secret",
    "webhook_secrets",
    "webhook_read_timeout",
    "webhook_max_connections",
    "webhook_active_staleness_ms",
    "prices",
    "retention_days",
    "lease_ttl_seconds",
    "rollout_time_scale",
    "retirements",
    "openai_webhook_secret",
    "trainer_base_url",
    "trainer_api_key",
    "training_timeout",
    "local_base_model_dir",
}


@dataclass(frozen=True)
class StoreLocation:
    """The settings that locate the store: `Settings.data_dir` and `Settings.database_url`."""

    data_dir: Path
    database_url: str | None

    @property
    def store_url(self) -> str:
        """The state store URL, defaulting to a SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'phasegate.db'}"


def _given(variables: dict[str, str | None]) -> dict[str, str | None]:
    """The settings fields among `variables`, by field name (names compared ignoring case)."""
    fields = READ | ANY_TEXT | CHECKED
    found = {}
    for name, value in variables.items():
        field = name.lower().removeprefix(PREFIX)
        if name.lower().startswith(PREFIX) and field in fields:
            found[field] = value
    return found


def _env_file() -> dict[str, str | None] | None:
    """The settings fields in `.env`, or None when it cannot be read."""
    if not ENV_FILE.is_file():
        return {}
    from dotenv import dotenv_values  # only with a .env file; what pydantic-settings reads it with

    try:
        return _given(dotenv_values(ENV_FILE, encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def store_location() -> StoreLocation | None:
    """The store's location as `Settings` would give it, or None when `Settings` must decide."""
    given = _env_file()
    if given is None:
        return None
    given.update(_given(dict(os.environ)))
    if given.keys() & CHECKED or None in given.values():
        return None
    database_url = given.get("database_url")
    if database_url is not None and not database_url.startswith(("sqlite", "postgresql")):
        return None
    data_dir = Path(given["data_dir"]) if "data_dir" in given else Path(".phasegate")
    if data_dir.exists() and not data_dir.is_dir():
        return None  # Settings refuses it, naming the variable
    return StoreLocation(data_dir, database_url)
