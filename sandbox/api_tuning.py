"""OpenAI routes for fine-tuning jobs: create, list, retrieve, events, checkpoints, cancel."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from sandbox.errors import bad_request, not_found
from sandbox.fine_tuning import TERMINAL, Job
from sandbox.lifecycle import VALIDATED_AT, cancel
from sandbox.text import stable_hash
from sandbox.wire import json_body, limit_of, page, state_of

router = APIRouter(prefix="/v1")
SUFFIX_RE = re.compile(r"^[\w.\-]{1,64}$")
HYPER_LIMITS = {
    "n_epochs": (int, 1, 50),
    "batch_size": (int, 1, 256),
    "learning_rate_multiplier": (float, 1e-6, 10.0),
}


def _hyperparameters(body: dict[str, Any]) -> dict[str, Any]:
    """Supervised hyperparameters from ``method`` (or legacy top-level ``hyperparameters``)."""
    method = body.get("method")
    if method is not None:
        if not isinstance(method, dict) or method.get("type") != "supervised":
            raise bad_request("The sandbox only supports method.type='supervised'.", "method")
        raw = (method.get("supervised") or {}).get("hyperparameters") or {}
    else:
        raw = body.get("hyperparameters") or {}
    if not isinstance(raw, dict) or set(raw) - set(HYPER_LIMITS):
        raise bad_request(
            f"hyperparameters accepts only {', '.join(HYPER_LIMITS)}.", "hyperparameters"
        )
    out: dict[str, Any] = {}
    for name, (kind, low, high) in HYPER_LIMITS.items():
        value = raw.get(name, "auto")
        number = isinstance(value, int | float) and not isinstance(value, bool)
        ok = value == "auto" or (
            number and low <= value <= high and (kind is float or value == int(value))
        )
        if not ok:
            raise bad_request(f"{name} must be 'auto' or a number in [{low}, {high}].", name)
        out[name] = value if value == "auto" else kind(value)
    return out


def _training_file(state: Any, body: dict[str, Any], param: str) -> str | None:
    """Check that a referenced file exists and has purpose fine-tune."""
    file_id = body.get(param)
    if file_id is None and param == "validation_file":
        return None
    stored = state.files.files.get(file_id) if isinstance(file_id, str) else None
    if stored is None:
        raise bad_request(f"invalid {param}: {file_id}", param, f"invalid_{param}")
    if stored.purpose != "fine-tune":
        raise bad_request(
            f"File {file_id} has purpose {stored.purpose!r}, not 'fine-tune'.",
            param,
            f"invalid_{param}",
        )
    return file_id


@router.post("/fine_tuning/jobs")
async def create_job(request: Request) -> JSONResponse:
    """Create a supervised fine-tuning job."""
    state = state_of(request)
    state.stats["jobs_create"] += 1
    body = await json_body(request)
    model = body.get("model")
    parent = state.models.get(model) if isinstance(model, str) else None
    if model not in state.base_models() and (parent is None or parent.checkpoint):
        raise bad_request(
            f"Model {model!r} is not available for fine-tuning.", "model", "model_not_available"
        )
    training = _training_file(state, body, "training_file")
    validation = _training_file(state, body, "validation_file")
    suffix, seed = body.get("suffix"), body.get("seed")
    if suffix is not None and not (isinstance(suffix, str) and SUFFIX_RE.match(suffix)):
        raise bad_request("suffix must be 1-64 letters, digits, '_', '-' or '.'.", "suffix")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise bad_request("seed must be an integer.", "seed")
    job_id = f"ftjob-{secrets.token_hex(12)}"
    job = Job(
        id=job_id,
        created=time.time(),
        duration=state.config.job_seconds,
        model=model,
        base=parent.base if parent else model,
        parent_pairs=parent.pairs if parent else (),
        training_file=training,
        validation_file=validation,
        suffix=suffix,
        seed=stable_hash(job_id) % 2**31 if seed is None else seed,
        hyperparameters=_hyperparameters(body),
        metadata=body.get("metadata"),
    )
    job.event(
        job.created,
        f"Validating training file: {training}"
        + (f" and validation file: {validation}" if validation else ""),
    )
    job.event(job.created, f"Created fine-tuning job: {job_id}")
    state.jobs[job_id] = job
    state.watch(lambda: _next_change(job), lambda: state.refresh(job))
    return JSONResponse(job.to_json())


def _next_change(job: Job) -> float | None:
    """When a job may end next: after validation (it may fail), then at its end."""
    if job.status in TERMINAL:
        return None
    return job.created + (VALIDATED_AT * job.duration if job.plan is None else job.duration)


def _job(request: Request, job_id: str, stat: str) -> Job:
    """Count the call, find and refresh a job (404 if unknown)."""
    state = state_of(request)
    state.stats[stat] += 1
    if job_id not in state.jobs:
        raise not_found("fine-tuning job", job_id, code="fine_tune_not_found")
    return state.refresh(state.jobs[job_id])


@router.get("/fine_tuning/jobs")
async def list_jobs(request: Request) -> JSONResponse:
    """List jobs, newest first."""
    state = state_of(request)
    state.stats["jobs_list"] += 1
    state.refresh_all()
    items = [job.to_json() for job in reversed(state.jobs.values())]
    return JSONResponse(page(items, request.query_params.get("after"), limit_of(request, 20)))


@router.get("/fine_tuning/jobs/{job_id}")
async def retrieve_job(job_id: str, request: Request) -> JSONResponse:
    """One job, with its status computed for now."""
    return JSONResponse(_job(request, job_id, "jobs_retrieve").to_json())


@router.get("/fine_tuning/jobs/{job_id}/events")
async def job_events(job_id: str, request: Request) -> JSONResponse:
    """Job events, newest first."""
    job = _job(request, job_id, "jobs_events")
    events = list(reversed(job.events))
    return JSONResponse(page(events, request.query_params.get("after"), limit_of(request, 20)))


@router.get("/fine_tuning/jobs/{job_id}/checkpoints")
async def job_checkpoints(job_id: str, request: Request) -> JSONResponse:
    """One checkpoint per finished epoch, newest first."""
    job = _job(request, job_id, "jobs_checkpoints")
    items = list(reversed(job.checkpoints))
    return JSONResponse(page(items, request.query_params.get("after"), limit_of(request, 10)))


@router.post("/fine_tuning/jobs/{job_id}/cancel")
async def cancel_job(job_id: str, request: Request) -> JSONResponse:
    """Cancel a job that has not finished (400 for a finished one)."""
    job = _job(request, job_id, "jobs_cancel")
    if job.status in TERMINAL:
        raise bad_request(
            f"Job {job_id} is already {job.status} and cannot be cancelled.",
            "fine_tuning_job_id",
            "job_not_cancellable",
        )
    cancel(job)
    state_of(request).notify("fine_tuning.job.cancelled", job.id)
    return JSONResponse(job.to_json())
