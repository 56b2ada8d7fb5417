"""The warm runner's socket: where it is, made so that only its own user may connect."""

import hashlib
import os
import socket
import struct
from pathlib import Path

SOCKET = "warm-runner.sock"
MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes
PEER_CREDENTIALS = struct.calcsize("3i")  # SO_PEERCRED: pid, uid, gid
BACKLOG = 16


def socket_path(data_dir: Path) -> Path:
    """Where the runner listens: in the data dir, or in /tmp when that path is too long."""
    path = data_dir / SOCKET
    if len(os.fsencode(path)) <= MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(os.fsencode(data_dir)).hexdigest()[:16]
    return Path("/tmp") / f"phasegate-warm-{digest}.sock"


def listen(path: Path) -> socket.socket:
    """A unix socket listening at `path`, created 0600 (a stale one there is replaced)."""
    path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    umask = os.umask(0o177)
    try:
        listener.bind(str(path))
    finally:
        os.umask(umask)
    listener.listen(BACKLOG)
    return listener


def same_user(connection: socket.socket) -> bool:
    """Whether the process at the other end runs as this process's user (its commands will)."""
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, PEER_CREDENTIALS)
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return uid == os.getuid()
