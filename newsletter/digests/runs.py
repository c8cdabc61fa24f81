"""Planning runs: a coordinator splits the mailable subscribers into shards; each shard is planned alone.

    planning_run_start(now=…)        the coordinator: one PlanningRun, its PlanningShards (id ranges)
    planning_shard_plan(shard_id=…)  one shard: read, match, write, mark done, in one transaction
    digests_plan(now=…)              both, in this process (operators' command, tests, benchmarks)

Beat starts the coordinator every 15 minutes (newsletter.tasks.plan_digests); it queues one task
per shard, and any worker takes any shard. A shard's memory is bounded by SHARD_SIZE subscribers,
whatever the number of subscribers, and more workers plan more shards at once.

Idempotent at every step:
  - A run's `key` names its beat slot: a second coordinator for the same slot finds it taken and
    does nothing. A run still going (started less than STALE_AFTER ago) makes the next beat skip.
  - A shard runs under a row lock on itself and commits its digests, items, counters and status
    together: a redelivered shard (its worker died) either finds it done or starts it afresh, and
    the (subscriber, edition) constraint makes a race between two runs plan each digest once.
  - A shard that fails is retried by its task (backoff); the others go on meanwhile.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from newsletter.digests.planning import PlanningReport, Selection, digests_compute, digests_write
from newsletter.digests.selectors import plannable_subscribers
from newsletter.matching.collector import collector_paused
from newsletter.models import PlanningRun, PlanningShard

logger = logging.getLogger(__name__)

BEAT_MINUTES = 15
# A run still `running` after this long has lost its shards (workers gone for good; a shard's
# task is retried SHARD_RETRIES times, each within the task time limit): the next beat plans again,
# and the constraints keep what the old run wrote from being planned twice.
STALE_AFTER = timedelta(seconds=4 * settings.CELERY_TASK_TIME_LIMIT + 5 * 60)


class PlannerBusy(Exception):
    """A run for this slot exists, or the previous run is still going: this one did nothing."""


def shard_size() -> int:
    return settings.PLANNING_SHARD_SIZE


def run_key(*, now: datetime, force: bool) -> str:
    """The beat slot `now` falls in ("2026-11-21T06:15"); forced runs are never deduplicated."""
    if force:
        return f"forced-{now:%Y-%m-%dT%H:%M:%S}-{uuid.uuid4().hex[:12]}"
    slot = now.replace(minute=now.minute - now.minute % BEAT_MINUTES, second=0, microsecond=0)
    return slot.strftime("%Y-%m-%dT%H:%M")


def planning_run_start(
    *, now: datetime | None = None, force: bool = False, emails: list[str] | None = None
) -> PlanningRun:
    """Create the run and its shards; raises PlannerBusy. The caller queues one task per shard."""
    now = now or timezone.now()
    with transaction.atomic():
        _refuse_when_busy(now=now, force=force)
        try:
            run = PlanningRun.objects.create(key=run_key(now=now, force=force), moment=now, force=force)
        except IntegrityError:
            raise PlannerBusy(f"A planning run for {run_key(now=now, force=force)} exists already.") from None
        ranges = shard_ranges(size=shard_size(), emails=emails)
        PlanningShard.objects.bulk_create(
            PlanningShard(run=run, number=number, first_id=first, last_id=last)
            for number, (first, last) in enumerate(ranges)
        )
        run.shards = len(ranges)
        run.emails = emails
        if not ranges:
            run.status, run.finished_at = PlanningRun.Status.DONE, timezone.now()
        run.save(update_fields=["shards", "emails", "status", "finished_at"])
    return run


def _refuse_when_busy(*, now: datetime, force: bool) -> None:
    if force:
        return
    running = PlanningRun.objects.select_for_update().filter(status=PlanningRun.Status.RUNNING)
    stale = running.filter(started_at__lt=now - STALE_AFTER)
    stale.update(status=PlanningRun.Status.FAILED, finished_at=now)
    if running.filter(started_at__gte=now - STALE_AFTER).exists():
        raise PlannerBusy("The previous planning run is still going; this beat is skipped.")


def shard_ranges(*, size: int, emails: list[str] | None = None) -> list[tuple[int, int]]:
    """[first_id, last_id] ranges of `size` mailable subscribers each, in id order.

    Reads only the ids (8 bytes a subscriber, streamed): a million subscribers cost a few MB here.
    """
    queryset = plannable_subscribers(emails=emails).order_by("id")
    ranges: list[tuple[int, int]] = []
    first = last = None
    count = 0
    for subscriber_id in queryset.values_list("id", flat=True).iterator(chunk_size=10_000):
        if count == 0:
            first = subscriber_id
        last = subscriber_id
        count += 1
        if count == size:
            ranges.append((first, last))
            count = 0
    if count:
        ranges.append((first, last))
    return ranges


def planning_shard_plan(*, shard_id: int) -> PlanningReport:
    """Plan one shard and record it; a shard already done plans nothing (a redelivered task)."""
    started = time.perf_counter()
    # A shard makes a few hundred thousand short-lived objects: full collections would scan them all.
    with collector_paused(), transaction.atomic():
        # of=("self",): the shard row only; locking the run too would make its shards wait on each other.
        shard = PlanningShard.objects.select_for_update(of=("self",)).select_related("run").get(pk=shard_id)
        if shard.status != PlanningShard.Status.RUNNING:
            return PlanningReport()
        run = shard.run
        selection = Selection(
            first_id=shard.first_id, last_id=shard.last_id, emails=tuple(run.emails) if run.emails else None
        )
        plans = digests_compute(now=run.moment, force=run.force, selection=selection)
        report = digests_write(plans=plans, now=run.moment)
        report.seconds = time.perf_counter() - started
        _record_shard(shard=shard, report=report)
    logger.info(
        "Planned shard %d of run %s: %d due, %d planned (%d items), %d skipped in %.1fs",
        shard.number,
        run.key,
        report.due,
        report.planned,
        report.items,
        report.skipped,
        report.seconds,
    )
    return report


def _record_shard(*, shard: PlanningShard, report: PlanningReport) -> None:
    now = timezone.now()
    PlanningShard.objects.filter(pk=shard.pk).update(
        status=PlanningShard.Status.DONE,
        due=report.due,
        planned=report.planned,
        skipped=report.skipped,
        items=report.items,
        seconds=report.seconds,
        finished_at=now,
        attempts=F("attempts") + 1,
    )
    _count_into_run(run_id=shard.run_id, report=report, now=now)


def planning_shard_fail(*, shard_id: int, error: str) -> None:
    """A shard given up after its retries: recorded, and counted so its run can finish."""
    now = timezone.now()
    with transaction.atomic():
        updated = PlanningShard.objects.filter(pk=shard_id, status=PlanningShard.Status.RUNNING).update(
            status=PlanningShard.Status.FAILED, last_error=error[:2000], finished_at=now
        )
        if updated:
            run_id = PlanningShard.objects.values_list("run_id", flat=True).get(pk=shard_id)
            _count_into_run(run_id=run_id, report=PlanningReport(), now=now, failed=True)


def _count_into_run(*, run_id: int, report: PlanningReport, now: datetime, failed: bool = False) -> None:
    # Last in the shard's transaction: the run row stays locked only until the commit.
    PlanningRun.objects.filter(pk=run_id).update(
        shards_done=F("shards_done") + 1,
        due=F("due") + report.due,
        planned=F("planned") + report.planned,
        skipped=F("skipped") + report.skipped,
        items=F("items") + report.items,
    )
    finishing = PlanningRun.objects.filter(
        pk=run_id, shards_done=F("shards"), status=PlanningRun.Status.RUNNING
    )
    any_failed = (
        failed or PlanningShard.objects.filter(run_id=run_id, status=PlanningShard.Status.FAILED).exists()
    )
    finishing.update(
        status=PlanningRun.Status.FAILED if any_failed else PlanningRun.Status.DONE, finished_at=now
    )


def digests_plan(
    *, now: datetime | None = None, force: bool = False, emails: list[str] | None = None
) -> PlanningReport:
    """A whole run in this process, shard after shard: the report adds them up, with every planned id."""
    started = time.perf_counter()
    run = planning_run_start(now=now, force=force, emails=emails)
    report = PlanningReport()
    for shard_id in run.shard_set.order_by("number").values_list("id", flat=True):
        report.add(planning_shard_plan(shard_id=shard_id))
    report.seconds = time.perf_counter() - started
    return report
