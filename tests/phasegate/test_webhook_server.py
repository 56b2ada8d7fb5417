"""Server limits of the webhook API over real sockets: the read timeout, the connection bound,
and no Nagle delay on the connections of a socket shared between workers."""

import asyncio
import http.client
import socket
import threading
from collections.abc import Iterator

import pytest
import uvicorn

from phasegate.webhook_server import ReadTimeoutProtocol, no_delay
from phasegate.webhooks import create_app
from state.settings import Settings
from tests.phasegate.webhook_client import Emitted

# Bounds the wait of a test that expects the server to act; never reached when it works.
PATIENCE = 20.0


class QuickTimeout(ReadTimeoutProtocol):
    """The protocol with a read timeout short enough for a test."""

    read_timeout = 0.3


@pytest.fixture(name="server")
def server_fixture(settings: Settings) -> Iterator[tuple[str, int]]:
    """The webhook API on a free loopback port: 0.3 s read timeout, at most 3 connections."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    config = uvicorn.Config(
        create_app(settings, emit=Emitted()),
        http=QuickTimeout,
        limit_concurrency=3,
        timeout_keep_alive=int(PATIENCE),
        lifespan="off",
        log_level="critical",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    address = sock.getsockname()
    assert _healthz(_client(address)) == 200
    yield address
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def _client(address: tuple[str, int]) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(*address, timeout=PATIENCE)


def _healthz(client: http.client.HTTPConnection) -> int:
    """GET /healthz on a kept-alive connection; the status."""
    client.request("GET", "/healthz")
    response = client.getresponse()
    response.read()
    return response.status


def _closed_by_server(connection: socket.socket) -> bool:
    """Whether the server closes `connection` (read until EOF, or until our patience ends)."""
    connection.settimeout(PATIENCE)
    try:
        while connection.recv(4096):
            pass
    except TimeoutError:
        return False
    return True


def test_connection_that_sends_nothing_is_closed(server: tuple[str, int]) -> None:
    with socket.create_connection(server) as connection:
        assert _closed_by_server(connection)


def test_connection_whose_headers_never_end_is_closed(server: tuple[str, int]) -> None:
    with socket.create_connection(server) as connection:
        connection.sendall(b"POST /v1/usecases/demo-qa/usage HTTP/1.1\r\nHost: t\r\n")
        assert _closed_by_server(connection)


def test_connection_whose_body_never_ends_is_closed(server: tuple[str, int]) -> None:
    with socket.create_connection(server) as connection:
        connection.sendall(
            b"POST /v1/usecases/demo-qa/usage HTTP/1.1\r\nHost: t\r\n"
            b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"counts"'
        )
        assert _closed_by_server(connection)


def test_complete_requests_on_a_kept_alive_connection_are_answered(
    server: tuple[str, int],
) -> None:
    client = _client(server)
    assert [_healthz(client), _healthz(client)] == [200, 200]
    client.close()


def test_requests_past_the_connection_bound_are_503(server: tuple[str, int]) -> None:
    held = [_client(server) for _ in range(2)]
    assert [_healthz(client) for client in held] == [200, 200]
    third = _client(server)
    assert _healthz(third) == 503
    for client in [*held, third]:
        client.close()


async def _accepted_no_delay(turn_off_nagle: bool) -> int:
    """TCP_NODELAY of a connection accepted on a socket made as uvicorn makes it for workers."""
    listener = socket.socket()  # no IPPROTO_TCP: asyncio leaves Nagle on for its connections
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            if turn_off_nagle:
                no_delay(transport)
            sock = transport.get_extra_info("socket")
            seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
    _, writer = await asyncio.open_connection(*listener.getsockname())
    try:
        return await asyncio.wait_for(seen, PATIENCE)
    finally:
        writer.close()
        server.close()


def test_connections_of_a_shared_socket_answer_without_nagle_delay() -> None:
    assert asyncio.run(_accepted_no_delay(turn_off_nagle=False)) == 0
    assert asyncio.run(_accepted_no_delay(turn_off_nagle=True)) != 0
