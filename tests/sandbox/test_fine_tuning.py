"""Fine-tuning jobs: lifecycle, validation, events, checkpoints, cancel and tuned models."""

from __future__ import annotations

import json

import openai
import pytest

from tests.sandbox.helpers import (
    admin,
    ask,
    client_for,
    product_rows,
    row,
    train,
    upload,
    wait_job,
)


def test_fine_tuning_job_succeeds_with_model_name(sandbox_url: str) -> None:
    job = train(client_for(sandbox_url), product_rows(), suffix="gadgets")
    assert job.status == "succeeded"
    assert job.fine_tuned_model == f"ft:sandbox-base:gadgets:{job.id.removeprefix('ftjob-')[:8]}"
    assert job.finished_at is not None and job.finished_at >= job.created_at


def test_fine_tuning_job_starts_validating(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    job = client.fine_tuning.jobs.create(
        model="sandbox-base", training_file=upload(client, product_rows())
    )
    assert job.status == "validating_files"
    assert job.fine_tuned_model is None and job.trained_tokens is None


def test_fine_tuning_job_reports_trained_tokens(sandbox_url: str) -> None:
    rows = [row("ping", "pong")]  # (1 + 4) + (1 + 4) tokens per epoch
    job = train(
        client_for(sandbox_url),
        rows,
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}},
    )
    assert job.trained_tokens == 2 * 10
    assert job.hyperparameters.n_epochs == 2


def test_fine_tuning_legacy_hyperparameters_are_accepted(sandbox_url: str) -> None:
    job = train(client_for(sandbox_url), product_rows(), hyperparameters={"n_epochs": 4})
    assert job.status == "succeeded" and job.hyperparameters.n_epochs == 4


def test_fine_tuning_tuned_model_answers_training_pair(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    job = train(client, product_rows())
    assert job.fine_tuned_model is not None
    answer = ask(client, "Which colour is gadget model g3?", model=job.fine_tuned_model)
    assert answer == "Gadget g3 is painted shade 21."
    assert ask(client, "Which colour is gadget model g3?") != answer  # base model cannot


def test_fine_tuning_tuned_model_falls_back_to_reader(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    job = train(client, product_rows())
    assert job.fine_tuned_model is not None
    prompt = "Context:\nOwls hunt at night.\nQuestion: When do owls hunt?"
    assert ask(client, prompt, model=job.fine_tuned_model) == "Owls hunt at night."


def test_fine_tuning_tuned_model_is_listed(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    job = train(client, product_rows())
    assert job.fine_tuned_model in [m.id for m in client.models.list()]


def test_fine_tuning_invalid_line_fails_job(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    rows = [row("q1", "a1"), json.dumps({"messages": [{"role": "user", "content": "q"}]})]
    file_id = upload(client, rows)
    job = wait_job(
        client, client.fine_tuning.jobs.create(model="sandbox-base", training_file=file_id).id
    )
    assert job.status == "failed"
    assert job.error is not None and job.error.code == "invalid_training_file"
    assert job.error.message.startswith("line 2:")
    assert job.fine_tuned_model is None


def test_fine_tuning_invalid_json_reports_line(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    file_id = upload(client, ["not json", row("q", "a")])
    job = wait_job(
        client, client.fine_tuning.jobs.create(model="sandbox-base", training_file=file_id).id
    )
    assert job.error is not None and job.error.message.startswith("line 1: invalid JSON")


def test_fine_tuning_unknown_training_file_is_400(sandbox_url: str) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client_for(sandbox_url).fine_tuning.jobs.create(
            model="sandbox-base", training_file="file-x"
        )
    assert info.value.param == "training_file"


def test_fine_tuning_unknown_model_is_400(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    with pytest.raises(openai.BadRequestError) as info:
        client.fine_tuning.jobs.create(model="gpt-x", training_file=upload(client, product_rows()))
    assert info.value.param == "model"


def test_fine_tuning_unknown_job_is_404(sandbox_url: str) -> None:
    with pytest.raises(openai.NotFoundError):
        client_for(sandbox_url).fine_tuning.jobs.retrieve("ftjob-missing")


def test_fine_tuning_events_are_newest_first_and_complete(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    job = train(client, product_rows(), hyperparameters={"n_epochs": 3})
    events = client.fine_tuning.jobs.list_events(job.id, limit=100)
    messages = [e.message for e in reversed(events.data)]
    assert messages[0].startswith("Validating training file")
    assert messages[-1].startswith("Job completed")
    for expected in ("Files validated", "Job queued", "Fine-tuning job started"):
        assert any(m.startswith(expected) for m in messages)
    assert [e.type for e in events.data].count("metrics") == 3
    assert events.has_more is False


def test_fine_tuning_events_paginate(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    job = train(client, product_rows())
    first = client.fine_tuning.jobs.list_events(job.id, limit=2)
    assert len(first.data) == 2 and first.has_more is True
    everything = list(client.fine_tuning.jobs.list_events(job.id, limit=2))
    assert len({e.id for e in everything}) == len(everything) > 2


def test_fine_tuning_checkpoints_one_per_epoch(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    job = train(client, product_rows(), hyperparameters={"n_epochs": 3, "batch_size": 4})
    checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert [c.step_number for c in checkpoints] == [15, 10, 5]
    assert checkpoints[0].fine_tuned_model_checkpoint == f"{job.fine_tuned_model}:ckpt-step-15"


def test_fine_tuning_metrics_improve_with_epochs(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    job = train(client, product_rows(), hyperparameters={"n_epochs": 2})
    last, first = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert first.metrics.train_loss is not None and last.metrics.train_loss is not None
    assert last.metrics.train_loss < first.metrics.train_loss
    # Held-out gadget questions have answers nobody trained on: exact accuracy stays 0.
    assert last.metrics.full_valid_mean_token_accuracy == 0.0


def test_fine_tuning_validation_file_accuracy_is_measured(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    valid = upload(
        client, [row("What colour is gadget model g2?", "Gadget g2 is painted shade 14.")]
    )
    job = train(client, product_rows(), validation_file=valid, hyperparameters={"n_epochs": 1})
    (checkpoint,) = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert checkpoint.metrics.full_valid_mean_token_accuracy == 1.0
    assert job.validation_file == valid


def test_fine_tuning_checkpoint_model_is_usable(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    job = train(client, product_rows(), hyperparameters={"n_epochs": 2, "batch_size": 1})
    first = client.fine_tuning.jobs.checkpoints.list(job.id).data[-1]
    answer = ask(client, "What colour is gadget model g0?", model=first.fine_tuned_model_checkpoint)
    assert answer == "Gadget g0 is painted shade 0."


def test_fine_tuning_result_file_holds_step_metrics(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    job = train(client, product_rows(), hyperparameters={"n_epochs": 2})
    (result,) = job.result_files
    lines = client.files.content(result).text.strip().splitlines()
    assert lines[0].startswith("step,train_loss")
    assert len(lines) == 3


def test_fine_tuning_cancel_running_job(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    job = client.fine_tuning.jobs.create(
        model="sandbox-base", training_file=upload(client, product_rows())
    )
    cancelled = client.fine_tuning.jobs.cancel(job.id)
    assert cancelled.status == "cancelled"
    assert wait_job(client, job.id).status == "cancelled"


def test_fine_tuning_cancel_finished_job_is_400(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    job = train(client, product_rows())
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.cancel(job.id)


def test_fine_tuning_list_jobs_newest_first(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    file_id = upload(client, product_rows())
    first = client.fine_tuning.jobs.create(model="sandbox-base", training_file=file_id)
    second = client.fine_tuning.jobs.create(model="sandbox-base", training_file=file_id)
    ids = [job.id for job in client.fine_tuning.jobs.list(limit=100).data]
    assert ids.index(second.id) < ids.index(first.id)


def test_fine_tuning_non_supervised_method_is_400(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    with pytest.raises(openai.BadRequestError) as info:
        client.fine_tuning.jobs.create(
            model="sandbox-base",
            training_file=upload(client, product_rows()),
            method={"type": "dpo"},
        )
    assert info.value.param == "method"


def test_fine_tuning_tuned_classifier_labels_unseen_input(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    system = "Labels: routine, urgent"
    rows = [
        row("server is down and customers cannot log in", "urgent", system),
        row("please update my newsletter preferences", "routine", system),
    ]
    job = train(client, rows)
    assert job.fine_tuned_model is not None
    messages = [
        {"role": "system", "content": system},
        {"role": "user", "content": "the login page shows errors for customers today"},
    ]
    assert ask(client, "", model=job.fine_tuned_model, messages=messages) == "urgent"
    assert ask(client, "", messages=messages) == "routine"  # base: no overlap -> first label


def test_fine_tuning_overtrained_checkpoint_confuses_answers_it_knew(sandbox_url: str) -> None:
    # 4 epochs at twice the rate: lr-weighted epochs 2, 4, 6, 8 against 3 taken unharmed.
    client = client_for(sandbox_url)
    hyper = {"n_epochs": 4, "learning_rate_multiplier": 2.0, "batch_size": 1}
    job = train(client, product_rows(), hyperparameters=hyper)
    last, _, _, first = client.fine_tuning.jobs.checkpoints.list(job.id).data
    questions = [f"What colour is gadget model g{k}?" for k in range(5)]
    expected = [f"Gadget g{k} is painted shade {k * 7}." for k in range(5)]
    early = [ask(client, q, model=first.fine_tuned_model_checkpoint) for q in questions]
    late = [ask(client, q, model=last.fine_tuned_model_checkpoint) for q in questions]
    assert early == expected  # the first quarter of the pairs, learned cleanly
    # 75 % of answers confused (which ones hangs on the job's random id): some, never none.
    confused = [a for a, e in zip(late, expected, strict=True) if a != e]
    answers = {f"Gadget g{k} is painted shade {k * 7}." for k in range(20)}
    assert confused and set(confused) <= answers
    assert (
        last.metrics.train_loss
        > client.fine_tuning.jobs.checkpoints.list(job.id).data[1].metrics.train_loss
    )


def test_fine_tuning_injected_failure_fails_the_running_job(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    admin(sandbox_url, "POST", "/sandbox/faults", {"job_failure_share": 1.0})
    try:
        job = train(client, product_rows())
    finally:
        admin(sandbox_url, "POST", "/sandbox/reset", {"all": False})
    assert job.status == "failed" and job.fine_tuned_model is None
    assert job.error.code == "server_error"
    events = client.fine_tuning.jobs.list_events(job.id).data
    assert events[0].level == "error" and "internal error" in events[0].message
