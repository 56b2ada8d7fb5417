"""Serving the webhook API: uvicorn with a read timeout, a connection bound, and N processes.

Every process has its own group-commit writer; what they must share (the `webhook-id`s taken)
is in the store, so any number of them can serve one store behind one port.
"""

import asyncio
import socket
from typing import TYPE_CHECKING, Any

import uvicorn
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from state.settings import Settings, get_settings

if TYPE_CHECKING:
    from fastapi import FastAPI

KEEP_ALIVE_SECONDS = 5
# A worker answers the supervisor's health checks only once this module is imported; on a
# loaded machine that takes seconds, and uvicorn's default (5 s) then kills workers at start.
WORKER_HEALTHCHECK_SECONDS = 60


def no_delay(transport: asyncio.BaseTransport) -> None:
    """Turn Nagle's algorithm off on a TCP connection.

    asyncio does it only for sockets made with `IPPROTO_TCP`; the listening socket uvicorn shares
    between workers is made without, so its connections kept Nagle on: an answer written in two
    parts (headers, body) then waited for the client's delayed ACK — 40 ms per request.
    """
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class ReadTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol (httptools) that closes a connection whose request is late.

    The clock starts when a connection opens, or with the first byte of its next request, and
    stops once the request's headers and body are all in: a client that sends nothing, or
    sends slowly (slow loris), is closed after `read_timeout` seconds whatever it sends.
    """

    read_timeout: float | None = None

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._timeout = self.read_timeout or get_settings().webhook_read_timeout
        self._read_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Answer without Nagle's delay, and start the clock for the first request."""
        no_delay(transport)
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        """Start the clock on the first bytes after a complete request."""
        if self._read_deadline is None:
            self._arm()
        super().data_received(data)

    def on_message_begin(self) -> None:
        """Start the clock on a request that follows another in the same bytes (pipelined)."""
        if self._read_deadline is None:
            self._arm()
        super().on_message_begin()

    def on_message_complete(self) -> None:
        """Stop the clock: the request is read."""
        super().on_message_complete()
        self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock with the connection."""
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._read_deadline = self.loop.call_later(self._timeout, self._time_out)

    def _disarm(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _time_out(self) -> None:
        self._read_deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def app_from_environment() -> "FastAPI":
    """The webhook API of the `PHASEGATE_*` settings (what each worker process serves)."""
    # Imported here: a worker process unpickles its protocol (this module) before it can answer
    # health checks, so this module stays light; the app is built afterwards.
    from phasegate.webhooks import create_app

    return create_app(get_settings())


def serve_webhooks(settings: Settings, *, host: str, port: int, workers: int = 1) -> None:
    """Serve the webhook API on `host:port` from `workers` processes until stopped."""
    # The access log is off for throughput; error answers name their cause in the body.
    uvicorn.run(
        f"{__name__}:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=ReadTimeoutProtocol,
        limit_concurrency=settings.webhook_max_connections,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        access_log=False,
        server_header=False,
        log_level="info",
    )
