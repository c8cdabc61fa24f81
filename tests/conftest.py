"""Fixtures shared by the whole suite: Redis, a clean cache, and a real Celery worker process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

from config import embedded_redis

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session", autouse=True)
def redis_server() -> Iterator[None]:
    """Use REDIS_URL when set (CI); otherwise the embedded server, started here if needed."""
    process = None
    if not settings.REDIS_URL and not embedded_redis.is_answering(settings.EMBEDDED_REDIS_SOCKET):
        process = embedded_redis.start(settings.EMBEDDED_REDIS_SOCKET)
    yield
    if process is not None:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(autouse=True)
def clean_cache() -> Iterator[None]:
    """Forget rate-limit counters and locks between tests, without touching the broker's keys."""
    _delete_cache_keys()
    yield
    _delete_cache_keys()


def _delete_cache_keys() -> None:
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{settings.CACHES['default']['KEY_PREFIX']}:*", count=1000))
    if keys:
        client.delete(*keys)


def database_url_for_subprocess() -> str:
    """The URL of the database the tests are using right now (the test database, not the real one)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    )


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings_test",
        DATABASE_URL=database_url_for_subprocess(),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


class WorkerProcess:
    """A real `celery worker` process on the test database and the test broker."""

    def __init__(self, log_path: Path, env: dict[str, str], concurrency: int = 1) -> None:
        self.log_path = log_path
        self.env = env
        self.concurrency = concurrency
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> None:
        # A restarted worker appends to the same log: only a "ready" after this point counts.
        ready_search_from = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--loglevel=INFO",
                f"--concurrency={self.concurrency}",
                "--pool=prefork",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while b" ready." not in self.log_path.read_bytes()[ready_search_from:]:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Celery worker did not start; log:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the whole worker (parent and pool children), as a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path) -> Iterator[WorkerProcess]:
    """Start a real worker against the test database; the broker queue is purged first.

    Tests using it must commit their data (transactional_db), so the worker can see it.
    """
    from config.celery import app

    app.control.purge()
    worker = WorkerProcess(tmp_path / "worker.log", subprocess_env())
    worker.start()
    yield worker
    worker.stop()


def wait_until(predicate, *, timeout: float = 30.0, interval: float = 0.2, message: str = "condition"):
    """Poll `predicate` until it returns a truthy value; fail the test with `message` on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"Timed out after {timeout}s waiting for {message}")
