"""Settings from `PHASEGATE_*` environment variables or a `.env` file."""

import base64
import binascii
import ipaddress
import json
import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from state.errors import SettingsError

ENV_PREFIX = "PHASEGATE_"
# pydantic-settings names the field of a value it cannot decode (JSON) only in its message.
SOURCE_FIELD = re.compile(r'field "([^"]+)"')


class Price(BaseModel):
    """Prices of one model in US dollars."""

    input_per_m: float = Field(ge=0, description="per 1M prompt tokens")
    output_per_m: float = Field(ge=0, description="per 1M completion tokens")
    training_per_m: float = Field(0.0, ge=0, description="per 1M trained tokens")
    hosting_per_month: float = Field(0.0, ge=0, description="fixed monthly hosting")
    batch_factor: float = Field(
        0.5, gt=0, le=1, description="share of the input/output price a Batch API request pays"
    )

    def for_batch(self) -> "Price":
        """The per-token prices of this model through the Batch API."""
        return self.model_copy(
            update={
                "input_per_m": self.input_per_m * self.batch_factor,
                "output_per_m": self.output_per_m * self.batch_factor,
            }
        )


DEFAULT_PRICES: dict[str, Price] = {
    "sandbox-base": Price(input_per_m=2.50, output_per_m=10.00),
    "sandbox-small": Price(input_per_m=0.15, output_per_m=0.60),
    "sandbox-judge": Price(input_per_m=0.15, output_per_m=0.60),
    "ft:sandbox-base": Price(
        input_per_m=3.75,
        output_per_m=15.00,
        training_per_m=25.00,
        hosting_per_month=0.0,
    ),
    "gpt-4o": Price(input_per_m=2.50, output_per_m=10.00),
    "gpt-4o-mini": Price(input_per_m=0.15, output_per_m=0.60),
    "ft:gpt-4o-mini": Price(input_per_m=0.30, output_per_m=1.20, training_per_m=3.00),
    "ft:gpt-4o": Price(input_per_m=3.75, output_per_m=15.00, training_per_m=25.00),
}


WEBHOOK_SECRET_BYTES = (24, 64)
_USE_CASE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_SECRET_FORMAT = (
    f"must be whsec_ followed by {WEBHOOK_SECRET_BYTES[0]} to {WEBHOOK_SECRET_BYTES[1]} "
    "bytes in base64"
)


def webhook_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret `whsec_<base64>`; ValueError otherwise.

    The error never quotes the secret.
    """
    encoded = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    low, high = WEBHOOK_SECRET_BYTES
    if encoded == secret or not low <= len(key) <= high:
        raise ValueError(_SECRET_FORMAT)
    return key


def _secret_list(value: Any) -> Any:
    """Several secrets in one string are separated by spaces or commas (a rotation)."""
    if isinstance(value, str):
        return value.replace(",", " ").split()
    if isinstance(value, SecretStr):
        return [value]
    return value


def _checked_secrets(secrets: list[SecretStr], where: str) -> list[SecretStr]:
    """Refuse a secret that is not `whsec_<base64>`, naming its place, not its value."""
    for number, secret in enumerate(secrets, start=1):
        try:
            webhook_key(secret.get_secret_value())
        except ValueError:
            raise ValueError(
                f"{where}secret {number} of {len(secrets)}: {_SECRET_FORMAT}"
            ) from None
    return secrets


class Settings(BaseSettings):
    """Everything Phasegate reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # A refused value may be a secret: errors never quote what they refused.
        hide_input_in_errors=True,
    )

    data_dir: Path = Field(Path(".phasegate"), description="where the SQLite store and caches live")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the state store; default: SQLite in data_dir",
    )
    base_url: str = Field(
        "http://127.0.0.1:8900/v1",
        description="OpenAI-compatible endpoint (default: sandbox)",
    )
    api_key: SecretStr = Field(SecretStr("sk-sandbox"), description="provider API key")
    self_hosted: bool | None = Field(
        None,
        description="whether base_url is self-hosted; default: true for private hosts",
    )
    trainer_base_url: str | None = Field(
        None,
        description="endpoint of `fine_tuning.trainer: openai` (any OpenAI fine-tuning API, "
        "e.g. Azure OpenAI); default: base_url",
    )
    trainer_api_key: SecretStr | None = Field(
        None, description="API key of trainer_base_url; default: api_key"
    )
    local_base_model_dir: Path | None = Field(
        None,
        description="transformers directory of the open model `fine_tuning.trainer: local` "
        "tunes (make test-real-ft converts one from the Gemma 3 270M package)",
    )
    default_model: str = Field("sandbox-base", description="model used when a spec names none")
    judge_model: str = Field("sandbox-judge", description="model for the llm_judge metric")
    embedding_model: str = Field(
        "sandbox-base", description="embeddings model when a spec's rag names none"
    )
    concurrency: int = Field(16, ge=1, le=1024, description="concurrent provider calls")
    request_timeout: float = Field(30.0, gt=0, description="seconds per provider call")
    training_timeout: float = Field(
        6 * 3600.0, gt=0, description="seconds a fine-tuning job may run before it is cancelled"
    )
    max_retries: int = Field(4, ge=0, le=20, description="retries per provider call")
    webhook_secret: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="shared webhook secrets (`whsec_<base64>`), separated by spaces while one "
        "rotates; used for every use case without secrets of its own",
    )
    webhook_secrets: Annotated[dict[str, list[SecretStr]], NoDecode] = Field(
        default_factory=dict,
        description='webhook secrets per use case: a JSON object {"use-case": "whsec_… whsec_…"}; '
        "a use case listed here accepts only its own",
    )
    openai_webhook_secret: SecretStr | None = Field(
        None,
        description="OpenAI's webhook signing secret (`whsec_…`, from the webhook's page in the "
        "OpenAI dashboard) for POST /v1/provider/openai; unset: that route answers 503",
    )
    webhook_read_timeout: float = Field(
        10.0,
        gt=0,
        le=300,
        description="seconds a webhook request may take to arrive, headers and body",
    )
    webhook_max_connections: int = Field(
        1000, ge=1, le=100_000, description="open connections per webhook process; beyond: 503"
    )
    webhook_active_staleness_ms: int = Field(
        100,
        ge=0,
        le=60_000,
        description="milliseconds GET .../active may answer from what a webhook process last "
        "read from the store; a change is served once this has passed (0: check every read)",
    )
    prices: dict[str, Price] = Field(default_factory=lambda: dict(DEFAULT_PRICES))
    retirements: dict[str, date] = Field(
        default_factory=dict,
        description="shutdown dates of models whose provider publishes none, as JSON "
        '{"model": "YYYY-MM-DD"}; a date the provider publishes wins',
    )
    retention_days: int = Field(
        90,
        ge=0,
        le=36500,
        description="days the nightly sweep keeps monitoring results, cache entries and skipped "
        "decisions (0 keeps everything); decisions with evidence are never pruned",
    )
    lease_ttl_seconds: float = Field(
        60.0,
        ge=1,
        le=3600,
        description="seconds a check's lease outlives its last heartbeat (beats every third)",
    )
    rollout_time_scale: float = Field(
        1.0,
        ge=1,
        le=100_000,
        description="rollout seconds per wall-clock second when a step's max_duration is "
        "checked; above 1 only to compress time in demos and tests (docs/rollouts.md)",
    )

    @field_validator("data_dir")
    @classmethod
    def _not_under_a_file(cls, value: Path) -> Path:
        # Created on first use: only a file where it, or a folder on its way, would go is wrong.
        for part in (value, *value.parents):
            if part.exists():
                if not part.is_dir():
                    raise ValueError(f"must be a directory ({part} is a file)")
                break
        return value

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        return value

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _split_shared_secrets(cls, value: Any) -> Any:
        return _secret_list(value)

    @field_validator("webhook_secret")
    @classmethod
    def _shared_secrets_well_formed(cls, value: list[SecretStr]) -> list[SecretStr]:
        return _checked_secrets(value, "")

    @field_validator("openai_webhook_secret")
    @classmethod
    def _openai_secret_well_formed(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is None else _checked_secrets([value], "openai webhook ")[0]

    @field_validator("webhook_secrets", mode="before")
    @classmethod
    def _secrets_object(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                # The decoder's message may quote the text, which holds secrets.
                raise ValueError('must be a JSON object {"use-case": "whsec_… whsec_…"}') from None
        if not isinstance(value, dict):
            raise ValueError('must be a JSON object {"use-case": "whsec_… whsec_…"}')
        return {name: _secret_list(secrets) for name, secrets in value.items()}

    @field_validator("webhook_secrets")
    @classmethod
    def _use_case_secrets_well_formed(
        cls, value: dict[str, list[SecretStr]]
    ) -> dict[str, list[SecretStr]]:
        for number, (name, secrets) in enumerate(value.items(), start=1):
            if not _USE_CASE.fullmatch(name):
                # Not quoted: a key that is no use case name may be a misplaced secret.
                raise ValueError(f"key {number}: not a use case name")
            _checked_secrets(secrets, f"{name}: ")
        return value

    @property
    def store_url(self) -> str:
        """The state store URL, defaulting to a SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'phasegate.db'}"

    @property
    def endpoint_self_hosted(self) -> bool:
        """Whether the provider runs on infrastructure the company controls."""
        if self.self_hosted is not None:
            return self.self_hosted
        host = urlparse(self.base_url).hostname or ""
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_private
        except ValueError:
            return False

    def price_for(self, model: str) -> Price | None:
        """The price of a model; a tuned model falls back to `ft:<base>`."""
        if model in self.prices:
            return self.prices[model]
        if model.startswith("ft:"):
            base = model.split(":")[1]
            return self.prices.get(f"ft:{base}") or self.prices.get(base)
        return None


def _variable(field: object) -> str:
    """The environment variable of a settings field."""
    return f"{ENV_PREFIX}{str(field).upper()}"


def load_settings() -> Settings:
    """Settings from the environment; a bad value raises SettingsError naming its variable.

    pydantic's own errors quote the value they refused, and a value may be a secret: the
    message here says what is wrong and where, never the value.
    """
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            head, *rest = error["loc"] or ("(settings)",)
            where = ".".join(str(part) for part in rest)
            problems.append(f"{_variable(head)}{f' ({where})' if where else ''}: {error['msg']}")
        raise SettingsError("; ".join(problems)) from None
    except UnicodeDecodeError as exc:
        raise SettingsError(f".env: not UTF-8 (byte {exc.start})") from None
    except SourceError as exc:
        match = SOURCE_FIELD.search(str(exc))
        name = _variable(match.group(1)) if match else "a PHASEGATE_* variable"
        raise SettingsError(f"{name}: not valid JSON") from None


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()


class ProviderOptions(BaseModel):
    """How tasks reach the provider; built from settings by flows, passed to tasks."""

    base_url: str
    api_key: SecretStr
    timeout: float = 30.0
    max_retries: int = 4
    concurrency: int = 16


class TrainerOptions(BaseModel):
    """What the trainers need: the `openai` trainer's endpoint, the local trainer's places."""

    provider: ProviderOptions
    local_root: str = Field(description="where the local trainer keeps files, jobs, adapters")
    local_base_dir: str | None = Field(
        None, description="the transformers directory of the open model the local trainer tunes"
    )


def trainer_options(settings: Settings) -> TrainerOptions:
    """How the trainers train: the `openai` one on its own endpoint (default: the provider's),
    the local one under the data directory."""
    provider = provider_options(settings).model_copy(
        update={
            "base_url": settings.trainer_base_url or settings.base_url,
            "api_key": settings.trainer_api_key or settings.api_key,
        }
    )
    base = settings.local_base_model_dir
    return TrainerOptions(
        provider=provider,
        local_root=str(settings.data_dir / "local-trainer"),
        local_base_dir=str(base) if base else None,
    )


def provider_options(settings: Settings) -> ProviderOptions:
    """The provider options of these settings."""
    return ProviderOptions(
        base_url=settings.base_url,
        api_key=settings.api_key,
        timeout=settings.request_timeout,
        max_retries=settings.max_retries,
        concurrency=settings.concurrency,
    )
