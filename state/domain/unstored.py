"""What a check scored and has not stored yet: stored with its decision, in one unit of work."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from state.domain.evals import EvalRun
from state.domain.use_cases import Configuration, ConfigurationDraft


@dataclass
class Unstored:
    """The configurations and eval runs a check built, kept until its decision stores them.

    Each carries a provisional id below zero, from one sequence, until the unit of work that
    records the decision stores them and maps each provisional id to its row's (`stored_ids`).
    A crash before that unit stores none of them: no configuration or run without a decision.
    """

    configurations: dict[int, ConfigurationDraft] = field(default_factory=dict)
    eval_runs: dict[int, EvalRun] = field(default_factory=dict)
    _last: int = 0

    def __bool__(self) -> bool:
        return bool(self.configurations or self.eval_runs)

    def provisional_id(self) -> int:
        """A new provisional id (below zero)."""
        self._last -= 1
        return self._last

    def keep_configuration(self, draft: ConfigurationDraft, use_case_id: int) -> Configuration:
        """Keep a configuration to store with the decision; it, under a provisional id.

        Its content hash is left empty: the store computes it as it stores the configuration.
        """
        provisional = self.provisional_id()
        self.configurations[provisional] = draft
        return Configuration(
            id=provisional,
            use_case_id=use_case_id,
            content_hash="",
            created_at=datetime.now(UTC),
            **draft.model_dump(),
        )

    def keep_run(self, run: EvalRun) -> EvalRun:
        """Keep a scored run, to store with the decision; the run under its provisional id."""
        kept = run.model_copy(update={"id": self.provisional_id()})
        self.eval_runs[kept.id] = kept
        return kept

    def find_run(self, configuration_id: int, eval_set_hash: str, metric: str) -> EvalRun | None:
        """A run kept here of a configuration on an eval set with a metric, else None."""
        return next(
            (
                run
                for run in reversed(self.eval_runs.values())
                if (run.configuration_id, run.eval_set_hash, run.metric)
                == (configuration_id, eval_set_hash, metric)
            ),
            None,
        )

    def clear(self) -> None:
        """Forget what was kept (once it is stored)."""
        self.configurations.clear()
        self.eval_runs.clear()


def as_stored(run: EvalRun | None, stored_ids: dict[int, int]) -> EvalRun | None:
    """A kept run under the ids it was stored with (a stored one, or one not stored, as it is)."""
    if run is None or run.id not in stored_ids:
        return run
    return run.model_copy(
        update={
            "id": stored_ids[run.id],
            "configuration_id": stored_ids.get(run.configuration_id, run.configuration_id),
        }
    )
