"""Choosing among checkpoints: the best validation mean, the earlier one on a tie."""

from flows.checkpoints import CheckpointScore, best_checkpoint


def _score(epoch: int, mean: float) -> CheckpointScore:
    return CheckpointScore(
        job_id="ftjob-1",
        epoch=epoch,
        step=10 * epoch,
        model=f"ft:m:ckpt-{epoch}",
        n_epochs=3,
        learning_rate_multiplier=1.0,
        configuration_id=epoch,
        eval_run_id=epoch,
        mean=mean,
        ci_low=mean - 0.1,
        ci_high=mean + 0.1,
        n=40,
    )


def test_best_checkpoint_takes_the_highest_validation_mean() -> None:
    scores = [_score(1, 0.4), _score(2, 0.7), _score(3, 0.6)]
    assert best_checkpoint(scores).epoch == 2


def test_best_checkpoint_breaks_a_tie_for_the_earlier_checkpoint() -> None:
    scores = [_score(1, 0.4), _score(2, 0.7), _score(3, 0.7)]
    assert best_checkpoint(scores).epoch == 2
