"""Request and response bodies of the webhook API, and how their errors are worded."""

import json
from datetime import date
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError, from_json

from state.domain import ActiveParts
from state.errors import ApiError
from state.inputs import DEFAULT_SOURCE, Count, Day, Slug, describe

JSON_TYPE = "application/json"
MAX_ITEMS = 1000
MAX_TARGET = 200


def _storable(text: str) -> str:
    """Refuse NUL: PostgreSQL text cannot hold it, and no real input contains one."""
    if "\x00" in text:
        raise PydanticCustomError("nul_character", "must not contain NUL (\\u0000)")
    return text


def _not_blank(text: str) -> str:
    """Refuse text that is only white space: nothing to score or learn from."""
    if not text.strip():
        raise PydanticCustomError("blank", "must not be only white space")
    return text


# Every free text of a request body: stored alike by SQLite and PostgreSQL.
Text = Annotated[str, AfterValidator(_storable)]


class _Body(BaseModel):
    # Strict: "12" is not a count and a typo in a field name is an error, not a default.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _Signed(_Body):
    """A request body that names what it acts on, inside what is signed."""

    target: Text = Field(
        max_length=MAX_TARGET,
        description="the method and path this body is for: `POST /v1/usecases/{name}/usage`",
    )


class CheckRequest(_Signed):
    """Ask for a phase check of a use case."""

    # The bound on the str itself: on the optional (or after a validator) pydantic checks a
    # generic length and words it as "items".
    reason: Annotated[str, Field(max_length=2000), AfterValidator(_storable)] | None = None
    requested_by: Annotated[str, Field(max_length=200), AfterValidator(_storable)] | None = None


class UsageItem(_Body):
    """The queries one source served on one day."""

    # The same bounds as `usage record` and `usage import` (state/inputs.py).
    day: Day
    count: Count
    source: Slug = DEFAULT_SOURCE


class UsageRequest(_Signed):
    """Daily query counts; each (day, source) replaces what was reported before."""

    counts: list[UsageItem] = Field(min_length=1, max_length=MAX_ITEMS)

    @model_validator(mode="after")
    def _one_count_per_day_and_source(self) -> "UsageRequest":
        """Refuse two counts for the same day and source (one would silently win)."""
        seen: dict[tuple[date, str], int] = {}
        for index, item in enumerate(self.counts):
            key = (item.day, item.source)
            if key in seen:
                raise ValueError(
                    f"counts.{index}: same day and source as counts.{seen[key]} "
                    f"({item.day}, {item.source!r})"
                )
            seen[key] = index
        return self


class InteractionItem(_Body):
    """A production input with its output and, when known, a label or rating."""

    id: Text = Field(min_length=1, max_length=200, description="the client's id; de-duplicates")
    input: Annotated[Text, AfterValidator(_not_blank)] = Field(min_length=1)
    output: Text = ""
    label: Text | None = None
    rating: float | None = Field(None, allow_inf_nan=False)
    configuration_id: int | None = Field(
        None,
        ge=1,
        le=2_147_483_647,
        description="the configuration `GET .../active` served (its `configuration.id`); "
        "refused unless it is the active one or a rollout arm of the use case",
    )
    latency_ms: float | None = Field(
        None, ge=0, allow_inf_nan=False, description="how long the call took"
    )
    error: bool | None = Field(None, description="whether the call failed; unset: not known")


class InteractionsRequest(_Signed):
    """Interactions to keep; ids already stored are counted as duplicates."""

    interactions: list[InteractionItem] = Field(min_length=1, max_length=MAX_ITEMS)


class CheckAccepted(BaseModel):
    """A check request turned into a Prefect event."""

    event_id: str
    use_case: str


class UsageRecorded(BaseModel):
    """How many daily counts were stored."""

    recorded: int


class InteractionsRecorded(BaseModel):
    """How many interactions were new and how many were already stored."""

    inserted: int
    duplicates: int


class ActivePrompt(BaseModel):
    """The prompt version of the active configuration, resolved to its text."""

    label: str = Field(description="`name@vN`")
    kind: str
    system: str
    template: str = Field(description="the user message; `{input}` is replaced")
    k: int = Field(description="few-shot examples (few_shot prompts)")
    content_hash: str


class ActiveTunedModel(BaseModel):
    """The fine-tuned model of the active configuration and what it was trained from."""

    model_id: str
    base_model: str
    training_file_hash: str
    job_id: str


class RolloutStepRead(BaseModel):
    """The live rollout a routing key was split by: its id, step and the canaries' share."""

    id: int
    step: int = Field(description="0 for the first step")
    weight: float = Field(description="per cent of routing keys served the canary")


class ActiveConfiguration(BaseModel):
    """What an application should call for a use case now (for its routing key)."""

    use_case: str
    phase: str
    configuration: dict[str, Any] | None
    prompt: ActivePrompt | None = None
    tuned_model: ActiveTunedModel | None = None
    version: int
    arm: str = Field("control", description="`control`, or the canary arm that served the key")
    rollout: RolloutStepRead | None = Field(None, description="the live rollout, if any")


def active_configuration(parts: ActiveParts) -> ActiveConfiguration:
    """The `GET .../active` body of a use case's active parts."""
    prompt = tuned = None
    if parts.prompt is not None:
        prompt = ActivePrompt(
            label=parts.prompt.label,
            content_hash=parts.prompt.content_hash,
            **parts.prompt.variant.model_dump(include={"kind", "system", "template", "k"}),
        )
    if parts.tuned_model is not None:
        fields = {"model_id", "base_model", "training_file_hash", "job_id"}
        tuned = ActiveTunedModel(**parts.tuned_model.model_dump(include=fields))
    configuration, rollout = parts.configuration, parts.rollout
    return ActiveConfiguration(
        use_case=parts.use_case.name,
        phase=configuration.phase if rollout and configuration else parts.use_case.active_phase,
        configuration=configuration.model_dump(mode="json") if configuration else None,
        prompt=prompt,
        tuned_model=tuned,
        version=parts.use_case.version,
        arm=parts.arm,
        rollout=RolloutStepRead(id=rollout.id, step=rollout.step, weight=rollout.weight)
        if rollout
        else None,
    )


class ErrorDetail(BaseModel):
    """A machine-readable code and a message that names the field or header."""

    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error answer of the API."""

    error: ErrorDetail


def error_body(error: ApiError) -> ErrorBody:
    """The JSON body of an error answer."""
    return ErrorBody(error=ErrorDetail(code=error.code, message=error.message))


SignedBody = TypeVar("SignedBody", bound=_Signed)


def parse_body(
    model: type[SignedBody], content_type: str | None, body: bytes, *, target: str
) -> SignedBody:
    """Validate a JSON request body into `model`, for the request `target`.

    Raises ApiError 415 or 422, or 401 `wrong_target` when the body names another target
    (whether or not the rest of it is valid): a body signed for one use case or route never
    acts on another.
    """
    _refuse_media_type(content_type)
    try:
        _refuse_duplicate_keys(body)
        parsed = model.model_validate_json(body)
    except ValidationError as exc:
        _refuse_other_target(body, target)
        errors = exc.errors(include_url=False)
        code = (
            "invalid_json" if any(e["type"] == "json_invalid" for e in errors) else "invalid_body"
        )
        raise ApiError(422, code, describe(exc, whole="(body)")) from exc
    _refuse_other_target(parsed, target)
    return parsed


def _refuse_media_type(content_type: str | None) -> None:
    """Raise 415 unless the body is JSON in UTF-8 (the only charset it is read in)."""
    media_type, *parameters = (content_type or "").split(";")
    if media_type.strip().lower() != JSON_TYPE:
        raise ApiError(415, "unsupported_media_type", f"Content-Type: must be {JSON_TYPE}")
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            raise ApiError(415, "unsupported_media_type", "Content-Type: charset must be utf-8")


def _refuse_duplicate_keys(body: bytes) -> None:
    """Raise 422 for an object that names a key twice: parsers differ on which one wins."""

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            twice = next(key for key in keys if keys.count(key) > 1)
            raise ApiError(422, "invalid_json", f"(body): duplicate key {twice!r}")
        return dict(pairs)

    try:
        json.loads(body, object_pairs_hook=unique)
    except ValueError:
        return  # not JSON at all: the model's parser words that error


def _refuse_other_target(body: _Signed | bytes, target: str) -> None:
    """Raise 401 `wrong_target` if `body` names a target other than `target`."""
    if isinstance(body, bytes):
        try:
            document = from_json(body)
        except ValueError:
            return
        named = document.get("target") if isinstance(document, dict) else None
        if not isinstance(named, str):
            return
    else:
        named = body.target
    if named != target:
        raise ApiError(
            401, "wrong_target", f"target: this body is signed for another request, not {target}"
        )
