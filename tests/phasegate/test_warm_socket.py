"""The warm runner's socket: 0600 in the data dir, and connections from other users refused."""

import os
import socket
import stat
from pathlib import Path

import pytest

from phasegate.warm_socket import MAX_SOCKET_PATH, listen, same_user, socket_path

NOBODY = 65534


def test_the_socket_is_created_for_its_user_only(tmp_path: Path) -> None:
    path = socket_path(tmp_path)
    with listen(path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_ISSOCK(path.stat().st_mode)


def test_a_data_dir_too_deep_for_a_socket_path_listens_in_tmp(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * MAX_SOCKET_PATH)
    path = socket_path(deep)
    assert path.parent == Path("/tmp") and path == socket_path(deep)
    assert len(os.fsencode(path)) <= MAX_SOCKET_PATH


def _connected_from(uid: int | None) -> bool:
    """Whether the runner's check takes a connection from a process running as `uid`."""
    # The abstract namespace has no file permissions: another user can reach it at all.
    name = f"\0phasegate-test-{os.getpid()}-{uid}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(name)
        listener.listen(1)
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # the other process: connect as `uid`, wait until the test has looked
            try:
                if uid is not None:
                    os.setuid(uid)
                socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).connect(name)
                os.read(reader, 1)
            finally:
                os._exit(0)
        try:
            connection, _ = listener.accept()
            with connection:
                return same_user(connection)
        finally:
            os.write(writer, b"x")
            os.waitpid(pid, 0)
            os.close(reader)
            os.close(writer)


def test_a_connection_from_this_user_is_taken() -> None:
    assert _connected_from(None)


@pytest.mark.skipif(os.getuid() != 0, reason="starting a process as another user needs root")
def test_a_connection_from_another_user_is_refused() -> None:
    assert not _connected_from(NOBODY)
