"""Plan and send digests right now, for operators and demos (beat does this every 15 minutes)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from newsletter.digests.planning import digest_views_for_plans, digests_compute
from newsletter.digests.rendering import DigestRenderer
from newsletter.digests.runs import PlannerBusy, digests_plan
from newsletter.digests.sending import (
    SEND_CHUNK,
    DigestSendingConfigurationError,
    SendReport,
    digests_send,
)


class Command(BaseCommand):
    help = "Plan the digests that are due and send them now, showing progress."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", action="store_true", help="Ignore send hours and weekdays.")
        parser.add_argument("--email", help="Only this subscriber.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Plan and render, but send nothing and write nothing."
        )

    def handle(self, *args, now: bool, email: str | None, dry_run: bool, **options) -> None:
        emails = [email] if email else None
        if dry_run:
            self._dry_run(force=now, emails=emails)
            return
        try:
            report = digests_plan(force=now, emails=emails)
        except PlannerBusy as busy:
            raise CommandError(str(busy)) from None
        self.stdout.write(
            f"Planned {report.planned} digest(s) ({report.items} papers), skipped {report.skipped} "
            f"with no new matching papers, in {report.seconds:.1f}s."
        )
        self._send(report.planned_ids)

    def _send(self, digest_ids: list[int]) -> None:
        total = SendReport()
        started = time.perf_counter()
        for start in range(0, len(digest_ids), SEND_CHUNK):
            try:
                report = digests_send(digest_ids=digest_ids[start : start + SEND_CHUNK])
            except DigestSendingConfigurationError as error:
                raise CommandError(str(error)) from None
            for name in ("claimed", "cancelled", "expired", "sent", "failed", "released", "unknown"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            self.stdout.write(f"  sent {total.sent}/{len(digest_ids)}, failed {total.failed}")
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(f"Sent {total.sent} digest(s), {total.failed} failed, in {elapsed:.1f}s.")
        )

    def _dry_run(self, *, force: bool, emails: list[str] | None) -> None:
        plans = digests_compute(now=timezone.now(), force=force, emails=emails)
        with_papers = [plan for plan in plans if plan.matches]
        renderer = DigestRenderer()
        started = time.perf_counter()
        for view in digest_views_for_plans(plans=with_papers):
            rendered = renderer.render(view)
            self.stdout.write(f"  {view.subscriber.email}: {rendered.subject}")
        self.stdout.write(
            f"Dry run: {len(with_papers)} digest(s) would be sent, {len(plans) - len(with_papers)} skipped; "
            f"rendered in {time.perf_counter() - started:.2f}s. Nothing was sent or saved."
        )
