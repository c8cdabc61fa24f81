"""The Procfile's processes started together by honcho, as `make run` does, on the embedded Redis.

A newcomer's first run: no ERROR lines while the processes race the embedded Redis, the address to
open printed once the site answers, and papers fetched at start-up rather than at the next hour.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from papers.models import FetchRun, Paper, PaperEmbedding
from tests.conftest import ROOT, subprocess_env, wait_until
from tests.fakes.upstream import Reply, Upstream, hf_page_html


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Run:
    def __init__(self, log_path: Path, env: dict[str, str]) -> None:
        self.log_path = log_path
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "honcho", "start", "-f", "Procfile"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        """Ctrl-C, as a person would; honcho stops every process."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with Upstream() as server:
        yield server


@pytest.fixture
def run(transactional_db, tmp_path, upstream) -> Iterator[Run]:
    # Socket paths are limited to about 100 bytes: a short directory for the embedded Redis.
    var_dir = Path(tempfile.mkdtemp(prefix="pb-run-", dir="/tmp"))
    port = free_port()
    env = subprocess_env(
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        PAPERBOX_VAR_DIR=str(var_dir),
        WEB_PORT=str(port),
        SITE_URL=f"http://localhost:{port}",
        HF_BASE_URL=upstream.base_url,
        PAPER_SOURCES="hf",
    )
    env.pop("REDIS_URL", None)  # the embedded Redis, started by the Procfile's `redis` process
    started = Run(tmp_path / "run.log", env)
    started.port = port
    yield started
    started.stop()
    shutil.rmtree(var_dir, ignore_errors=True)


def embedding_settled(log: str) -> bool:
    """Every paper has its vector and no embedding task is still running."""
    lines = [line for line in log.splitlines() if "Task papers.tasks.embed_new_papers[" in line]
    received = sum(1 for line in lines if line.endswith("received"))
    done = sum(1 for line in lines if "succeeded in" in line)
    return received == done and PaperEmbedding.objects.count() == Paper.objects.count() > 0


@pytest.mark.worker
def test_a_first_run_prints_the_address_fetches_at_once_and_logs_no_errors(run, upstream):
    today = datetime.now(UTC).date().isoformat()
    upstream.script(f"/papers/date/{today}", Reply(body=hf_page_html()))
    ready_line = f"Paperbox is running: open http://localhost:{run.port}/"

    wait_until(lambda: ready_line in run.log(), timeout=120, message=f"the ready line; log:\n{run.log()}")
    fetched = wait_until(
        lambda: FetchRun.objects.filter(status="succeeded").first(),
        timeout=120,
        message=f"the start-up fetch; log:\n{run.log()}",
    )
    wait_until(lambda: " ready." in run.log(), timeout=60, message="the worker")
    # The fetch queued the embedding of its papers: let it finish before Ctrl-C stops Redis under it.
    wait_until(
        lambda: embedding_settled(run.log()), timeout=120, message=f"the papers' embedding; log:\n{run.log()}"
    )

    assert fetched.target == today
    run.stop()  # Ctrl-C: stop everything, so the log is complete
    log = run.log()
    assert log.count(ready_line) == 1
    # Signing up needs Redis (rate limits): the address is printed once Redis answers too.
    assert log.index(ready_line) > log.index("The server is now ready to accept connections")
    assert "ERROR" not in log, log
    assert "Traceback" not in log, log
