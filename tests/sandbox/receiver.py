"""A webhook receiver for tests: a real HTTP server in a thread that keeps what it is sent."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    """The webhooks received so far: (headers, body) in arrival order."""

    url: str
    calls: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[tuple[dict[str, str], bytes]]:
        """The calls once there are `count` of them (polling; fails after `timeout`)."""
        deadline = time.monotonic() + timeout
        while len(self.calls) < count:
            assert time.monotonic() < deadline, f"only {len(self.calls)} webhooks arrived"
            time.sleep(0.02)
        return self.calls


@contextmanager
def receiver(status: int = 200) -> Iterator[Received]:
    """Serve a receiver answering `status` on a free loopback port."""
    received = Received(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            received.calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    received.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()
