"""The production web server's logs, through a real gunicorn on a loopback port: no working links in them."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.core import signing

from tests.conftest import ROOT, subprocess_env, wait_until


def signed(purpose: str) -> str:
    """A token exactly as newsletter.tokens makes them (same salts), for a subscriber who may not exist."""
    return signing.dumps(
        {"k": uuid.uuid4().hex, "v": 1}, salt=f"paperbox.newsletter.{purpose}", compress=True
    )


class Gunicorn:
    def __init__(self, tmp_path: Path) -> None:
        self.access_log = tmp_path / "access.log"
        self.stderr = tmp_path / "stderr.log"
        with self.stderr.open("wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi",
                 "--bind", "127.0.0.1:0", "--workers", "1", "--access-logfile", str(self.access_log)],
                cwd=ROOT, env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=stderr,
            )  # fmt: skip
        port = wait_until(self._port, timeout=60, message="gunicorn to listen")
        self.base_url = f"http://127.0.0.1:{port}"

    def _port(self) -> str | None:
        if self.process.poll() is not None:
            pytest.fail(f"gunicorn exited; its log:\n{self.stderr.read_text()}")
        found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", self.stderr.read_text())
        return found.group(1) if found else None

    def access_lines(self, count: int) -> list[str]:
        def enough() -> list[str] | None:
            lines = self.access_log.read_text().splitlines() if self.access_log.exists() else []
            return lines if len(lines) >= count else None

        return wait_until(enough, timeout=30, message=f"{count} access log lines")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture
def gunicorn(transactional_db, tmp_path) -> Iterator[Gunicorn]:
    server = Gunicorn(tmp_path)
    yield server
    server.stop()


def test_access_log_keeps_the_path_shape_without_the_tokens(gunicorn):
    confirm, manage, unsubscribe = signed("confirm"), signed("manage"), signed("unsubscribe")
    requests.get(f"{gunicorn.base_url}/confirm/{confirm}/", timeout=30)
    requests.get(
        f"{gunicorn.base_url}/preferences/{manage}/pause/",
        headers={"Referer": f"http://testserver/preferences/{manage}/"},
        timeout=30,
    )
    requests.get(f"{gunicorn.base_url}/unsubscribe/{unsubscribe}/?source=email", timeout=30)
    requests.get(f"{gunicorn.base_url}/papers/?q=robot", timeout=30)

    lines = gunicorn.access_lines(4)

    access_log = "\n".join(lines)
    for token in (confirm, manage, unsubscribe):
        assert token not in access_log
        assert token.split(":")[-1] not in access_log  # not even the signature part
    assert '"GET /confirm/[token]/ HTTP/1.1"' in lines[0]
    assert '"GET /preferences/[token]/pause/ HTTP/1.1"' in lines[1]
    assert '"http://testserver/preferences/[token]/"' in lines[1]  # the Referer
    assert '"GET /unsubscribe/[token]/?source=email HTTP/1.1"' in lines[2]
    assert '"GET /papers/?q=robot HTTP/1.1" 200' in lines[3]


def test_django_request_warnings_on_stderr_hide_the_tokens_too(gunicorn):
    """A 4xx answer makes Django log "Bad Request: <path>" on the web server's console."""
    token = signed("confirm")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = requests.get(f"{gunicorn.base_url}/confirm/{tampered}/", timeout=30)
    gunicorn.access_lines(1)

    assert response.status_code >= 400
    console = gunicorn.stderr.read_text()
    assert "/confirm/[token]/" in console
    assert tampered.split(":")[0] not in console
