"""The embedding task (through the real task function) and the `embed_papers` backfill command."""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command

from config.celery import app
from papers import tasks
from papers.models import Paper, PaperEmbedding
from tests.papers.embeddings.test_store import make_papers

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_queue():
    # The task queues itself when work remains; those messages must not reach other tests' workers.
    app.control.purge()
    yield
    app.control.purge()


def queued_embed_tasks() -> int:
    """How many messages the task queued (taken off the queue: no worker runs them here)."""
    return app.control.purge()


def test_the_task_embeds_new_papers_and_a_second_run_does_nothing():
    make_papers(3)

    assert tasks.embed_new_papers() == 3
    assert tasks.embed_new_papers() == 0
    assert PaperEmbedding.objects.count() == 3
    assert queued_embed_tasks() == 0


def test_the_task_stops_at_its_share_and_queues_the_rest(monkeypatch):
    make_papers(3)
    monkeypatch.setattr(tasks, "EMBED_PER_TASK", 2)

    assert tasks.embed_new_papers() == 2
    assert queued_embed_tasks() == 1


def test_a_second_task_while_one_runs_leaves_the_work_to_it_and_asks_for_one_more_run():
    make_papers(1)
    cache.add(tasks.EMBED_LOCK, True)

    assert tasks.embed_new_papers() == 0
    assert not PaperEmbedding.objects.exists()
    assert cache.get(tasks.EMBED_AGAIN)

    cache.delete(tasks.EMBED_LOCK)  # the running one finishes: it sees the flag and queues a run
    assert tasks.embed_new_papers() == 1
    assert queued_embed_tasks() == 1
    assert cache.get(tasks.EMBED_LOCK) is None


def test_beat_sweeps_hourly_with_the_task_of_that_name():
    entries = [e for e in app.conf.beat_schedule.values() if e["task"] == tasks.embed_new_papers.name]
    assert len(entries) == 1
    assert tasks.embed_new_papers.name == "papers.tasks.embed_new_papers"


def run_command(*args: str) -> str:
    out = io.StringIO()
    call_command("embed_papers", *args, stdout=out)
    return out.getvalue()


def test_the_command_backfills_with_progress():
    make_papers(5)

    lines = run_command("--batch-size", "2").splitlines()

    assert lines[0] == "5 papers to check or embed, 2 at a time."
    assert [line.split(" (")[0] for line in lines[1:4]] == ["2 of 5 papers", "4 of 5 papers", "5 of 5 papers"]
    assert lines[4].startswith("Embedded 5 papers in ")
    assert lines[4].endswith("(0 had not changed since their last embedding).")
    assert PaperEmbedding.objects.count() == 5
    assert run_command().strip() == "Every paper is embedded already."


def test_the_command_refuses_a_batch_size_it_cannot_use():
    with pytest.raises(CommandError, match="--batch-size must be between 1 and 10,000; got 0"):
        run_command("--batch-size", "0")
    assert not Paper.objects.exists()
