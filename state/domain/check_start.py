"""What a phase check reads as it starts: the use case, its active configuration and run."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from state.domain.evals import EvalRun
from state.domain.use_cases import Configuration, PromptVersion, UseCase

if TYPE_CHECKING:  # rollouts and retirements build on configurations
    from state.domain.retirements import Retirement
    from state.domain.rollouts import Rollout


@dataclass(frozen=True)
class CheckStart:
    """What a phase check reads as it starts, in one unit of work.

    The use case, its active configuration and 30-day volume, the retirement noted for that
    configuration (a migration comes first) and the live rollout (no second move meanwhile).
    """

    use_case: UseCase
    active: Configuration | None
    volume_30d: int
    retirement: "Retirement | None" = None
    live_rollout: "Rollout | None" = None
    active_prompt: PromptVersion | None = None  # the active configuration's prompt version
    # The active configuration's newest reusable eval run with the spec's metric: the one the
    # check reuses when the eval set is unchanged (`find_eval_run` with the set's hash).
    active_run: EvalRun | None = None
