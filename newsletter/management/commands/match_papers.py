"""Match interests against papers: one person's interests, or a whole batch of subscribers offline.

    match_papers --interest "QUERY" [--interest ...] [--since YYYY-MM-DD] [--json]
    match_papers --text-file PAPERS.jsonl --interest "QUERY"
    match_papers --interests-file FILE --top K [--summary] [--processes N]
                                                   (FILE lines: subscriber_id<TAB>interest)

Keep this interface stable: other tooling relies on it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from newsletter.matching import (
    InterestSyntaxError,
    InterestTable,
    Match,
    PaperRecord,
    match_papers,
    parse_interest,
    plan_table,
)
from newsletter.matching.interest_file import InterestFileError, read_interest_table
from papers.records import paper_records_since

# Below this many distinct interest texts, one process is faster than forking more.
PARALLEL_FROM_TEXTS = 20_000


class Command(BaseCommand):
    help = "Show which papers match interests, best first (or plan digests for a file of interests)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interest", action="append", default=[], help="An interest, as a subscriber types it."
        )
        parser.add_argument(
            "--since", type=parse_day, help="Only papers featured or published since YYYY-MM-DD."
        )
        parser.add_argument(
            "--text-file", type=Path, help="Match papers from this JSON-lines file, not the database."
        )
        parser.add_argument(
            "--interests-file", type=Path, help="Batch mode: lines of subscriber_id<TAB>interest."
        )
        parser.add_argument(
            "--top", type=int, default=10, help="Batch mode: papers per subscriber (default 10)."
        )
        parser.add_argument(
            "--summary", action="store_true", help="Batch mode: print counts and timings only."
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=os.cpu_count() or 1,
            help="Batch mode: processes that compile and match the distinct interests (default: one per core).",
        )
        parser.add_argument("--json", action="store_true", help="One JSON object per line.")

    def handle(self, *args, **options) -> None:
        if bool(options["interest"]) == bool(options["interests_file"]):
            raise CommandError("Give either --interest (one or more) or --interests-file.")
        started = time.perf_counter()
        papers = self.load_papers(options["text_file"], options["since"])
        load_seconds = time.perf_counter() - started
        if options["interests_file"]:
            self.plan_batch(options, papers, load_seconds)
        else:
            self.match_interests(options, papers)

    def load_papers(self, text_file: Path | None, since: dt.date | None) -> list[PaperRecord]:
        if text_file is None:
            return paper_records_since(since=since)
        papers = read_papers_file(text_file)
        if since is not None:
            papers = [p for p in papers if p.published is None or p.published >= since]
        return papers

    def match_interests(self, options: dict, papers: list[PaperRecord]) -> None:
        for text in options["interest"]:
            check_interest(text)
        matches = match_papers(options["interest"], papers, today=timezone.localdate())
        titles = {paper.id: paper.title for paper in papers}
        for match in matches:
            if options["json"]:
                self.stdout.write(json.dumps(match_as_json(match)))
            else:
                self.stdout.write(
                    f"{match.score:7.3f}  {match.paper_id}  {titles[match.paper_id]}\n"
                    f"         matched: {'; '.join(match.interests)} ({', '.join(match.terms)})"
                )
        if not options["json"]:
            self.stderr.write(f"{len(matches)} of {len(papers)} papers matched.")

    def plan_batch(self, options: dict, papers: list[PaperRecord], load_seconds: float) -> None:
        if options["top"] < 1:
            raise CommandError("--top must be at least 1.")
        if options["processes"] < 1:
            raise CommandError("--processes must be at least 1.")
        started = time.perf_counter()
        table = read_interests_file(options["interests_file"], top_k=options["top"])
        load_seconds += time.perf_counter() - started
        stats: dict = {}
        started = time.perf_counter()
        plan = plan_table(
            table, papers, today=timezone.localdate(), stats=stats, processes=self.processes(options, table)
        )
        plan_seconds = time.perf_counter() - started
        if options["summary"]:
            summary = {
                "subscribers": len(table),
                "papers": len(papers),
                "subscribers_with_papers": len(plan),
                "results": plan.pick_count,
                "load_seconds": round(load_seconds, 4),
                "plan_seconds": round(plan_seconds, 4),
                **stats,
            }
            self.stdout.write(json.dumps(summary, default=str))
            return
        for subscriber_id, matches in sorted(plan.items()):
            papers_json = [match_as_json(match) for match in matches]
            self.stdout.write(json.dumps({"subscriber": subscriber_id, "papers": papers_json}))

    @staticmethod
    def processes(options: dict, table: InterestTable) -> int:
        # Forking costs a few tenths of a second: worth it only for many distinct interests.
        return options["processes"] if len(table.texts) >= PARALLEL_FROM_TEXTS else 1


def match_as_json(match: Match) -> dict:
    return {
        "id": match.paper_id,
        "score": round(match.score, 6),
        "interests": match.interests,
        "terms": match.terms,
    }


def parse_day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since {value!r}: expected a date as YYYY-MM-DD.") from None


def check_interest(text: str) -> None:
    try:
        parse_interest(text)
    except InterestSyntaxError as error:
        raise CommandError(f"Interest {text!r}: {error}") from None


def read_papers_file(path: Path) -> list[PaperRecord]:
    papers = []
    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        try:
            papers.append(PaperRecord.from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise CommandError(f"{path}, line {number}: not a paper record ({error}).") from None
    return papers


def read_interests_file(path: Path, *, top_k: int) -> InterestTable:
    """Subscriber rows from lines of subscriber_id<TAB>interest (matching.read_interest_table)."""
    try:
        return read_interest_table(path.read_bytes(), top_k=top_k)
    except OSError as error:
        raise CommandError(f"Cannot read {path}: {error.strerror}.") from None
    except UnicodeDecodeError:
        raise CommandError(f"{path} is not UTF-8 text.") from None
    except InterestFileError as error:
        raise CommandError(f"{path}, {error}.") from None


def read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise CommandError(f"Cannot read {path}: {error.strerror}.") from None
    except UnicodeDecodeError:
        raise CommandError(f"{path} is not UTF-8 text.") from None
