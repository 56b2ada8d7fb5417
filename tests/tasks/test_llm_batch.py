"""The Batch API transport alone: file splitting, and a wait that a failing signal cannot stop."""

import pytest
from pydantic import SecretStr

from state.errors import BatchesPending, InputError
from state.settings import ProviderOptions
from tasks.llm import ChatRequest, build_client, run_sync
from tasks.llm_batch import BatchOptions, complete_in_batches, input_lines, split
from tests.plugins.sandbox_server import SandboxServer


def test_split_keeps_each_file_within_both_limits() -> None:
    lines = [b"x" * size for size in (10, 10, 10, 25, 5, 5)]
    assert split(lines, max_requests=2, max_bytes=30) == [[0, 1], [2], [3, 4], [5]]


def test_split_refuses_a_request_larger_than_a_file() -> None:
    with pytest.raises(InputError, match="request 1: 40 bytes"):
        split([b"x", b"y" * 40], max_requests=10, max_bytes=30)


def test_input_lines_carry_index_and_chat_body() -> None:
    request = ChatRequest("m", [{"role": "user", "content": "q"}], max_tokens=5, stop=("\n",))
    (line,) = input_lines([request])
    assert line.endswith(b"\n") and b'"custom_id": "0"' in line
    assert b'"max_tokens": 5' in line and b'"url": "/v1/chat/completions"' in line


def test_a_failing_webhook_signal_leaves_the_wait_to_polling(sandbox_url: str) -> None:
    def broken(_: str) -> bool:
        raise RuntimeError("store away")

    options = ProviderOptions(base_url=sandbox_url, api_key=SecretStr("sk-test"))
    wait = BatchOptions(poll_first_seconds=0.2, poll_max_seconds=0.2, signal_seconds=0.05)
    request = ChatRequest("sandbox-base", [{"role": "user", "content": "Question: hello?"}])

    async def run() -> tuple:
        async with build_client(options, sdk_retries=2) as client:
            return await complete_in_batches(client, [request], wait, ended=broken)

    result, batch_ids = run_sync(run)
    assert len(batch_ids) == 1 and result.results[0].error is None


def test_a_wait_that_may_suspend_gives_up_then_takes_its_recorded_batch(
    sandbox_server: SandboxServer, sandbox_url: str
) -> None:
    sandbox_server.admin("POST", "/sandbox/faults", {"batch_seconds": 1.5})
    options = ProviderOptions(base_url=sandbox_url, api_key=SecretStr("sk-test"))
    wait = BatchOptions(poll_first_seconds=0.2, poll_max_seconds=0.2)
    request = ChatRequest("sandbox-base", [{"role": "user", "content": "Question: suspend?"}])
    recorded: dict[str, str] = {}

    def run(give_up: float) -> tuple:
        async def main() -> tuple:
            async with build_client(options, sdk_retries=2) as client:
                return await complete_in_batches(
                    client, [request], wait, find=recorded.get, suspend_after=give_up
                )

        return run_sync(main)

    with pytest.raises(BatchesPending) as pending:
        run(give_up=0.1)
    ((batch_id, digest),) = pending.value.batches
    recorded[digest] = batch_id
    # The run again (resumed): the recorded batch, waited for to its end; none created.
    result, batch_ids = run(give_up=30)
    assert batch_ids == [batch_id] and result.results[0].error is None
    assert sandbox_server.stats()["batches_create"] == 1
