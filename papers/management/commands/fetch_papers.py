"""Fetch papers from the configured sources, or parse a saved page, and ingest them.

    manage.py fetch_papers [--source hf|hf-api|arxiv-rss|arxiv-list] [--date YYYY-MM-DD]
                           [--category cs.CL] [--file PATH] [--dry-run] [--json]

Other tooling relies on this interface: keep it stable. `--dry-run --json` prints one normalized
paper per line and writes nothing; progress goes to stderr so stdout stays machine-readable.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from papers.http import FetchClient
from papers.services import (
    fetch_jobs,
    fetch_target,
    papers_fetch,
    papers_ingest,
    papers_refresh_search_terms,
    source_url,
)
from papers.sources.errors import HostUnreachable, SourceError
from papers.sources.records import PaperRecord
from papers.sources.registry import SOURCES, detect_source


class Command(BaseCommand):
    help = "Fetch papers from Hugging Face and arXiv (or parse a saved page with --file) and store them."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--source", help=f"one of {', '.join(sorted(SOURCES))} (default: PAPER_SOURCES)")
        parser.add_argument("--date", help="YYYY-MM-DD, the Hugging Face day (default: today, UTC)")
        parser.add_argument("--category", help="one arXiv category such as cs.CL (default: ARXIV_CATEGORIES)")
        parser.add_argument("--file", help="parse this saved page or response instead of fetching")
        parser.add_argument("--dry-run", action="store_true", help="parse and print; write nothing")
        parser.add_argument("--json", action="store_true", help="print JSON, one object per line")

    def handle(self, *args: Any, **options: Any) -> None:
        self.as_json = options["json"]
        self.dry_run = options["dry_run"]
        source = _checked_source(options["source"])
        category = _checked_category(options["category"])
        day = _checked_date(options["date"])
        if options["file"]:
            self._from_file(Path(options["file"]), source=source, category=category)
        else:
            self._from_network(source=source, day=day, category=category)

    def _from_file(self, path: Path, *, source: str | None, category: str | None) -> None:
        try:
            body = path.read_bytes()
        except OSError as error:
            raise CommandError(f"--file {path}: cannot read it ({error.strerror or error})") from None
        source = source or detect_source(body)
        if source is None:
            raise CommandError(f"--file {path}: cannot tell which source it is from; pass --source")
        try:
            records = SOURCES[source].parse(body, url=str(path), category=category)
        except SourceError as error:
            raise CommandError(str(error)) from None
        if self.dry_run:
            self._print_records(records)
            return
        result = papers_ingest(records=records, source=source)
        papers_refresh_search_terms()
        self._print_summary(source=source, target=str(path), fetched=len(records), result=result.__dict__)

    def _from_network(self, *, source: str | None, day: date, category: str | None) -> None:
        jobs = fetch_jobs(
            sources=[source] if source else settings.PAPER_SOURCES,
            categories=[category] if category else settings.ARXIV_CATEGORIES,
        )
        client = FetchClient()
        failures: list[str] = []
        unreachable: set[str] = set()
        for number, (job_source, job_category) in enumerate(jobs, start=1):
            label = f"{job_source} {fetch_target(day=day, category=job_category)}"
            if job_source in unreachable:  # its host was unreachable a moment ago: one line is enough
                failures.append(label)
                continue
            self.stderr.write(f"[{number}/{len(jobs)}] {label} …")
            try:
                self._fetch_one(client, source=job_source, day=day, category=job_category)
            except SourceError as error:
                failures.append(label)
                if isinstance(error, HostUnreachable):
                    unreachable.add(job_source)
                self.stderr.write(_failure_line(job_source, error))
        if failures:
            raise CommandError(f"{len(failures)} of {len(jobs)} fetches failed: {', '.join(failures)}")

    def _fetch_one(self, client: FetchClient, *, source: str, day: date, category: str | None) -> None:
        if self.dry_run:
            url = source_url(source=source, day=day, category=category)
            self._print_records(SOURCES[source].parse(client.get(url).body, url=url, category=category))
            return
        run = papers_fetch(source=source, day=day, category=category, client=client)
        counts = {"new": run.new_count, "updated": run.updated_count, "unchanged": run.unchanged_count}
        self._print_summary(source=source, target=run.target, fetched=run.fetched_count, result=counts)

    def _print_records(self, records: list[PaperRecord]) -> None:
        for record in records:
            if self.as_json:
                self.stdout.write(json.dumps(record.to_dict(), ensure_ascii=False))
            else:
                upvotes = "-" if record.upvotes is None else record.upvotes
                self.stdout.write(f"{record.arxiv_id:<12} {upvotes:>5}  {record.title}")
        self.stderr.write(f"  {len(records)} papers (dry run: nothing written)")

    def _print_summary(self, *, source: str, target: str, fetched: int, result: dict[str, int]) -> None:
        if self.as_json:
            self.stdout.write(json.dumps({"source": source, "target": target, "fetched": fetched, **result}))
        else:
            self.stdout.write(
                f"{source} {target}: {fetched} fetched, {result['new']} new, "
                f"{result['updated']} updated, {result['unchanged']} unchanged"
            )


def _failure_line(source: str, error: SourceError) -> str:
    if isinstance(error, HostUnreachable):
        return f"{source}: {error.message}; check your network or {SOURCES[source].base_setting}"
    return f"  failed: {error}"


def _checked_source(value: str | None) -> str | None:
    if value is not None and value not in SOURCES:
        raise CommandError(f"--source {value}: unknown source; expected one of {', '.join(sorted(SOURCES))}")
    return value


def _checked_category(value: str | None) -> str | None:
    if value is not None and not settings.ARXIV_CATEGORY_PATTERN.match(value):
        raise CommandError(f"--category {value}: expected an arXiv category such as cs.CL")
    return value


def _checked_date(value: str | None) -> date:
    if value is None:
        return timezone.now().date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date {value}: expected a date as YYYY-MM-DD") from None
