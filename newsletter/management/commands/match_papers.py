"""Match interests against papers: one person's interests, or a whole batch of subscribers offline.

    match_papers --interest "QUERY" [--interest ...] [--since YYYY-MM-DD] [--json]
    match_papers --interest "~ a description" --like 2401.12345 [--top K] [--json]
    match_papers --text-file PAPERS.jsonl --interest "QUERY" [--like FILE_ID] [--cache-dir DIR]
    match_papers --interests-file FILE --top K [--summary] [--processes N]
                                                   (FILE lines: subscriber_id<TAB>interest)

Keep this interface stable: other tooling relies on it. The `--interest` lines (keywords or
`~ description`) and the `--like` papers together are one reader's profile, ranked as a digest
ranks them (matching.profile). With --text-file, papers are embedded on the fly and cached by
content (embedding_cache.py), so a second run embeds nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from newsletter.management.embedding_cache import EmbeddingCache
from newsletter.matching import (
    InterestSyntaxError,
    InterestTable,
    Line,
    Match,
    PaperRecord,
    Source,
    match_papers,
    parse_line,
    plan_table,
)
from newsletter.matching.interest_file import InterestFileError, read_interest_table
from newsletter.matching.profile import Profile, rank_profile
from newsletter.matching.records import PaperId
from papers.embeddings import EMBEDDING_DIM, embed_texts, paper_text, paper_vectors
from papers.models import Paper
from papers.records import paper_records_since
from papers.sources.errors import InvalidArxivId
from papers.sources.records import normalize_arxiv_id

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
            "--like",
            action="append",
            default=[],
            help="An example paper: its arXiv id, or its `id` in the --text-file (repeatable).",
        )
        parser.add_argument(
            "--top",
            type=int,
            help="The best K papers only (batch mode: papers per subscriber, default 10).",
        )
        parser.add_argument(
            "--cache-dir",
            type=Path,
            help="With --text-file: where papers' embeddings are cached (default var/embedding-cache).",
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
        one_reader = bool(options["interest"] or options["like"])
        if one_reader == bool(options["interests_file"]):
            raise CommandError("Give either --interest or --like (one or more), or --interests-file.")
        if options["top"] is not None and options["top"] < 1:
            raise CommandError("--top must be at least 1.")
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
        lines = [check_interest(text) for text in options["interest"]]
        keyword_lines = [line.text for line in lines if line.kind == Source.KEYWORD]
        descriptions = [line for line in lines if line.kind == Source.MEANING]
        if any(line.kind == Source.EXAMPLE for line in lines):
            raise CommandError("Give example papers with --like ID, not as an --interest line.")
        if descriptions or options["like"]:
            vectors = self.paper_vectors(options, papers)
            profile = Profile(
                keyword_lines=keyword_lines,
                descriptions=list(
                    zip([line.text for line in descriptions], embed(descriptions), strict=True)
                ),
                examples=self.examples(
                    options["like"], papers, vectors, in_file=options["text_file"] is not None
                ),
            )
            matches = rank_profile(profile, papers, vectors, top_k=options["top"], today=timezone.localdate())
        else:
            matches = match_papers(keyword_lines, papers, today=timezone.localdate())[: options["top"]]
        titles = {paper.id: paper.title for paper in papers}
        for match in matches:
            if options["json"]:
                self.stdout.write(json.dumps(match_as_json(match)))
            else:
                self.stdout.write(
                    f"{match.score:7.3f}  {match.paper_id}  {titles[match.paper_id]}\n"
                    f"         {why(match, titles)}"
                )
        if not options["json"]:
            self.stderr.write(f"{len(matches)} of {len(papers)} papers matched.")

    def paper_vectors(self, options: dict, papers: list[PaperRecord]) -> np.ndarray:
        """One row per paper (zeros for a paper the database has no embedding of yet)."""
        if options["text_file"] is not None:
            cache = EmbeddingCache(options["cache_dir"] or settings.VAR_DIR / "embedding-cache")
            vectors = cache.vectors([paper_text(paper.title, paper.abstract) for paper in papers])
            self.stderr.write(
                f"Embedded {cache.computed} papers ({len(papers) - cache.computed} from {cache.path})."
            )
            return vectors
        ids, matrix = paper_vectors([paper.id for paper in papers])
        rows = {paper_id: n for n, paper_id in enumerate(ids.tolist())}
        vectors = np.zeros((len(papers), EMBEDDING_DIM), dtype=np.float32)
        for n, paper in enumerate(papers):
            if paper.id in rows:
                vectors[n] = matrix[rows[paper.id]]
        return vectors

    def examples(
        self, references: list[str], papers: list[PaperRecord], vectors: np.ndarray, *, in_file: bool
    ) -> list[tuple[str, PaperId, np.ndarray]]:
        """Each --like paper with its vector: the file's `id` with --text-file, else an arXiv id of a
        paper in the database (whether or not it is among the papers matched)."""
        row_of = {str(paper.id): n for n, paper in enumerate(papers)}
        examples = []
        for reference in references:
            if in_file:
                row = row_of.get(reference.strip())
                if row is None:
                    raise CommandError(f"--like {reference}: no paper with this id in the file.")
                paper_id, vector = papers[row].id, vectors[row]
            else:
                paper_id, vector = self.database_example(reference)
            examples.append((f"like:{reference.strip()}", paper_id, vector))
        return examples

    @staticmethod
    def database_example(reference: str) -> tuple[int, np.ndarray]:
        try:
            arxiv_id = normalize_arxiv_id(reference)
        except InvalidArxivId as error:
            raise CommandError(f"--like {reference}: {error}.") from None
        paper_id = Paper.objects.filter(arxiv_id=arxiv_id).values_list("id", flat=True).first()
        if paper_id is None:
            raise CommandError(f"--like {reference}: no paper {arxiv_id} in the database.")
        ids, matrix = paper_vectors([paper_id])
        if not len(ids):
            raise CommandError(
                f"--like {reference}: paper {arxiv_id} has no embedding yet (manage.py embed_papers)."
            )
        return paper_id, matrix[0]

    def plan_batch(self, options: dict, papers: list[PaperRecord], load_seconds: float) -> None:
        options["top"] = options["top"] or 10
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
        # The line that ranked it best (its first line when keywords did) and how it was picked.
        "line": _picking_line(match),
        "source": match.source.value,
    }


def _picking_line(match: Match) -> str:
    if match.source == Source.EXAMPLE:
        return next((line for line in match.interests if line.startswith("like:")), "")
    if match.source == Source.MEANING:
        return next((line for line in match.interests if line.startswith("~")), "")
    return match.interests[0] if match.interests else ""


def why(match: Match, titles: dict) -> str:
    """The plain output's second line: the words a keyword line matched, or which line brought it."""
    if match.source == Source.KEYWORD:
        return f"matched: {'; '.join(match.interests)} ({', '.join(match.terms)})"
    if match.source == Source.EXAMPLE:
        return f"like “{titles.get(match.liked_paper_id, match.liked_paper_id)}” (also: {'; '.join(match.interests)})"
    return f"close to your description (picked by: {'; '.join(match.interests)})"


def parse_day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since {value!r}: expected a date as YYYY-MM-DD.") from None


def embed(descriptions: list[Line]) -> np.ndarray:
    if not descriptions:
        return np.empty((0, EMBEDDING_DIM), dtype=np.float32)
    return embed_texts([line.description for line in descriptions])


def check_interest(text: str) -> Line:
    try:
        return parse_line(text)
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
