"""Model retirements: a model's noted shutdown, and the golden outputs kept before it."""

from datetime import date, datetime

from state.domain.decisions import Decision
from state.domain.frozen import Frozen


class RetirementNotice(Frozen):
    """A model of a use case's active configuration that shuts down within the horizon."""

    use_case: str
    configuration_id: int
    model: str
    shutdown_date: date
    source: str
    days_left: int


class NoticeRecorded(Frozen):
    """What recording a notice did: its decision (None if noted before), first for the model?"""

    decision: Decision | None
    first_for_model: bool


class Retirement(RetirementNotice):
    """A stored notice."""

    id: int
    decision_id: int | None
    noticed_at: datetime


class GoldenSet(Frozen):
    """A retiring configuration's outputs and scores per eval item, cited by id."""

    id: int
    use_case: str
    configuration_id: int
    model: str
    eval_run_id: int
    eval_set_hash: str
    metric: str
    outputs: dict[str, str]
    scores: dict[str, float]
    created_at: datetime
