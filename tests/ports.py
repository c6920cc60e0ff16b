"""Free TCP ports for the servers the tests start (S3, uvicorn, `serve run`, Ray nodes)."""

from __future__ import annotations

import contextlib
import socket


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports that nobody listens on now. Every socket stays bound until
    all are chosen: closed one by one, the kernel hands the same port out again (in about one
    run in 150, two of the two-node cluster's 17 ports were the same)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def free_port() -> int:
    """A TCP port nobody listens on now."""
    return free_ports(1)[0]
