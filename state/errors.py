"""Phasegate's error tree: every exception class of the project, with its exit code and status.

                                    exit  HTTP  raised when
PhasegateError                         1   500  base of every error Phasegate raises on purpose
├── SpecError                          2   422  a use-case spec (or a data file it names) is invalid
│   └── LeakageError                   2   422  an eval input is also in the training set
├── InputError                         2   422  other bad input: a CSV row, a CLI argument
│   └── SettingsError                  2   422  a `PHASEGATE_*` variable (or `.env` line) is bad
├── NotFound                           2   404  a use case, run or record asked for does not exist
├── Conflict                           2   409  a stale writer lost a race, or a store rule
│   │                                           (one check at a time, append-only) would break
│   └── LeaseLost                      2   409  a check's lease was broken or taken over before
│                                               it recorded its decision
├── ApprovalError                      2   409  an answer with nothing pending, or bad input
├── SignatureError                     2   401  a webhook request cannot be authenticated
├── ApiError                           2   4xx  a webhook request is refused (its own status)
├── Unavailable                        3   503  a dependency is unavailable; the message names it
│   ├── ProviderError                  3   502  the LLM provider failed after its retries
│   │   ├── TrainingJobFailed          3   502  a fine-tuning job failed, was cancelled, timed out
│   │   ├── MeasurementInvalid         3   502  an eval run's error rate is above max_error_rate
│   │   └── ProviderUnreachable        3   502  the provider's endpoint cannot be reached
│   ├── StoreUnavailable               3   503  the state store cannot be reached
│   └── PrefectUnavailable             3   503  the Prefect API cannot be reached
│       ├── ServeError                 3   503  a part of the local Prefect stack did not start
│       └── EmitError                  3   503  Prefect did not take an event
├── OutcomeRefused                     4   412  a decision or score the caller refused (--fail-on)
├── VerdictError                       1   502  a judge's verdict is not a number 0–10
├── AnswerFormatError                  1   502  an output lacks the answer format its prompt asked
└── BatchesPending                     1   500  batches still run when a run that may suspend
                                                stops waiting in-process (the check suspends)

Edges translate: the CLI exits with `exit_code` (0 ok, 2 bad input, 3 a dependency
unavailable, 4 an outcome refused by `--fail-on`/`--fail-under`, 1 anything else), the
webhook API answers `http_status`. Messages are plain text that names the file, line, field or
dependency.
"""


class PhasegateError(Exception):
    """Base of every error Phasegate raises on purpose."""

    exit_code = 1
    http_status = 500


class SpecError(PhasegateError):
    """Raised when a spec file or a data file it names is invalid; the message names both."""

    exit_code = 2
    http_status = 422


class LeakageError(SpecError):
    """Raised when an eval input is in the training set; names the examples and eval ids."""


class InputError(PhasegateError):
    """Raised on other bad input (CSV rows, CLI arguments); the message names the place."""

    exit_code = 2
    http_status = 422


class SettingsError(InputError):
    """Raised when a setting has a bad value; names the variable, never echoes the value."""


class NotFound(PhasegateError):
    """Raised when a use case, run or record asked for does not exist."""

    exit_code = 2
    http_status = 404


class Conflict(PhasegateError):
    """Raised when a stale writer loses a race or a store rule would break."""

    exit_code = 2
    http_status = 409


class LeaseLost(Conflict):
    """Raised when a check records a decision but no longer holds its use case's lease."""


class ApprovalError(PhasegateError):
    """Raised when an approval is given with nothing pending or with invalid input."""

    exit_code = 2
    http_status = 409


class SignatureError(PhasegateError):
    """Raised when a request cannot be authenticated; `status` is the HTTP answer (401, 503)."""

    exit_code = 2
    http_status = 401

    def __init__(self, code: str, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.code, self.message, self.http_status = code, message, status

    @property
    def status(self) -> int:
        """The HTTP status of this refusal."""
        return self.http_status


class ApiError(PhasegateError):
    """Raised while answering a request, to answer with `status` and an error body instead."""

    exit_code = 2
    http_status = 400

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.http_status, self.code, self.message = status, code, message

    @property
    def status(self) -> int:
        """The HTTP status of this answer."""
        return self.http_status


class Unavailable(PhasegateError):
    """Raised when a dependency (provider, store, Prefect API) is unavailable; names which."""

    exit_code = 3
    http_status = 503


class ProviderError(Unavailable):
    """Raised when the LLM provider fails after the retries it was allowed."""

    http_status = 502


class TrainingJobFailed(ProviderError):
    """Raised when the provider's fine-tuning job fails, is cancelled or times out."""


class MeasurementInvalid(ProviderError):
    """Raised when an eval run is no measurement (error rate above `max_error_rate`).

    The run is stored, marked invalid, for diagnosis; the message names the endpoint, the
    model and the first error.
    """


class ProviderUnreachable(ProviderError):
    """Raised when the provider's endpoint cannot be reached (refused, unknown host, connect
    timeout) for a single operation; the message names the endpoint."""


class StoreUnavailable(Unavailable):
    """Raised when the state store cannot be reached; the message names it (no password)."""


class PrefectUnavailable(Unavailable):
    """Raised when the Prefect API cannot be reached or refuses a call; names its URL."""


class ServeError(PrefectUnavailable):
    """Raised when a part of the local Prefect stack does not start; names the part and its log."""


class EmitError(PrefectUnavailable):
    """Raised when Prefect does not take the event of a check request."""


class OutcomeRefused(PhasegateError):
    """Raised when a command's outcome is one its caller refused (`--fail-on`, `--fail-under`)."""

    exit_code = 4
    http_status = 412


class VerdictError(PhasegateError):
    """Raised when a judge's verdict is not exactly a number 0–10 or `SCORE: n`."""

    http_status = 502


class AnswerFormatError(PhasegateError):
    """Raised when an output lacks the answer format its prompt asked for (`Answer:` line)."""

    http_status = 502


class BatchesPending(PhasegateError):  # noqa: N818 - a signal to suspend, caught by the check
    """Raised when batches still run after the in-process part of a wait that may suspend."""

    def __init__(self, batches: list[tuple[str, str]]) -> None:
        """`batches`: (batch id, sha256 of its input file) of each batch still running."""
        names = ", ".join(batch_id for batch_id, _ in batches)
        super().__init__(f"{len(batches)} batches still running: {names}")
        self.batches = batches
