"""Phasegate's error tree.

PhasegateError            base of every error Phasegate raises on purpose
├── SpecError             a use-case spec (or a data file it names) is invalid
├── InputError            other bad input: a CSV row, a CLI argument, a request body
│   └── SettingsError     a `PHASEGATE_*` variable (or `.env` line) has a bad value
├── NotFound              a use case, run or record that was asked for does not exist
├── Conflict              a stale writer lost an optimistic-concurrency race, or a rule
│                         of the store (one check at a time, append-only) would break
├── ProviderError         the LLM provider failed after the retries it was allowed
└── ApprovalError         an approval was given with nothing pending or with bad input
"""


class PhasegateError(Exception):
    """Base of every error Phasegate raises on purpose."""


class SpecError(PhasegateError):
    """Raised when a spec file or a data file it names is invalid; the message names both."""


class LeakageError(SpecError):
    """Raised when an eval input is in the training set; names the examples and eval ids."""


class InputError(PhasegateError):
    """Raised on other bad input (CSV rows, CLI arguments); the message names the place."""


class SettingsError(InputError):
    """Raised when a setting has a bad value; names the variable, never echoes the value."""


class NotFound(PhasegateError):
    """Raised when a use case, run or record asked for does not exist."""


class Conflict(PhasegateError):
    """Raised when a stale writer loses a race or a store rule would break."""


class ProviderError(PhasegateError):
    """Raised when the LLM provider fails after the retries it was allowed."""


class ApprovalError(PhasegateError):
    """Raised when an approval is given with nothing pending or with invalid input."""
