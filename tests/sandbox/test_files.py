"""Files: upload, list, retrieve, content, delete and errors."""

from __future__ import annotations

import openai
import pytest

from tests.sandbox.helpers import client_for

DATA = b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}\n'


def test_files_upload_returns_file_object(sandbox_url: str) -> None:
    created = client_for(sandbox_url).files.create(file=("t.jsonl", DATA), purpose="fine-tune")
    assert created.id.startswith("file-")
    assert (created.bytes, created.filename, created.purpose) == (len(DATA), "t.jsonl", "fine-tune")


def test_files_content_round_trips_bytes(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    payload = DATA + "ünïcode\r\n".encode()
    created = client.files.create(file=("t.jsonl", payload), purpose="fine-tune")
    assert client.files.content(created.id).content == payload


def test_files_retrieve_returns_same_metadata(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    created = client.files.create(file=("r.jsonl", DATA), purpose="fine-tune")
    assert client.files.retrieve(created.id).model_dump() == created.model_dump()


def test_files_list_is_newest_first_and_filters_purpose(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    first = client.files.create(file=("a.jsonl", DATA), purpose="fine-tune")
    second = client.files.create(file=("b.jsonl", DATA), purpose="fine-tune")
    other = client.files.create(file=("c.txt", b"x"), purpose="assistants")
    ids = [f.id for f in client.files.list(purpose="fine-tune")]
    assert ids.index(second.id) < ids.index(first.id)
    assert other.id not in ids


def test_files_delete_removes_file(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    created = client.files.create(file=("d.jsonl", DATA), purpose="fine-tune")
    assert client.files.delete(created.id).deleted is True
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(created.id)


def test_files_unknown_id_is_404(sandbox_url: str) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client_for(sandbox_url).files.content("file-missing")
    assert info.value.status_code == 404


def test_files_bad_purpose_is_400(sandbox_url: str) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client_for(sandbox_url).files.create(file=("t.jsonl", DATA), purpose="bogus")  # type: ignore[arg-type]
    assert info.value.param == "purpose"
