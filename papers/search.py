"""The search box speaks the interest language: a line finds exactly the papers it would pick by email.

The matching engine (`newsletter.matching`) decides what matches and in which order; the database
only narrows the papers it reads first, with a pre-filter that can widen the set but never drop a
paper the engine would match. Why it cannot:

1. The engine looks a leaf (a word, phrase, compound, acronym or `prefix*`) up by its *atoms*: a
   stemmed term, equal to a paper token's term, or a prefix, the start of a token's raw form
   (case-folded, unstemmed). A leaf matches a paper only if, for each of its slots, every atom of
   one of the slot's alternatives is a token of the paper (`index.match_leaf` checks positions and
   fields on top of that). Stemming, Unicode normalization, acronym plurals (`LLMs`) and expansions
   (`RL` = `RL` or "reinforcement learning") all happen in building those atoms and tokens.
2. `Paper.search_terms` holds every token's term and raw form, made by the engine's own tokenizer
   from the very record the engine will read (`paper_search_terms`). So a paper holding an atom
   holds it in its search_terms (a term), or a form starting with it (a prefix). PostgreSQL answers
   "holds this term" from a GIN index; prefixes and SQLite read the column (papers.fields).
3. The filter keeps, for a leaf, AND over slots of OR over alternatives of AND over atoms; for an
   OR, the OR of its children; for an AND, the AND of its *required* children only. Field
   restrictions (`title:`) and exclusions (`-video`) are left to the engine: ignoring a condition
   can only widen the set.
4. A row whose search_terms another tokenizer wrote (`search_terms_version` differs, after an
   upgrade or before the backfill), or that was written without them, always passes the filter.
   Every write of the four fields the terms come from rewrites them: ingest (papers.services) and
   the admin both call `paper_index_for_search`.

No stemmer or dictionary of the database is involved (PostgreSQL's full-text parser splits and
stems words its own way, so a match of its `to_tsvector` would prove nothing about ours).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import operator
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import reduce
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from newsletter.matching import (
    Match,
    PaperRecord,
    SubscriberRecord,
    match_papers,
    parse_interest,
    plan_digests,
)
from newsletter.matching import normalize as matching_normalize
from newsletter.matching.compiler import And, Leaf, Node, Or
from newsletter.matching.rank import paper_factor
from papers.models import Paper
from papers.records import READ_CHUNK, RECORD_FIELDS, paper_record_from_row, paper_records_of

# The most one line adds to a paper's relevance: the weight of the best field it can match in.
MAX_RELEVANCE = max(matching_normalize.FIELD_WEIGHTS)
NO_TEXT = {"title": "", "abstract": "", "authors": (), "ai_keywords": ()}
# Longer forms are stored cut (a PostgreSQL lexeme holds at most 2046 bytes; a 5,000-letter "word"
# must not fail an ingest), and atoms are looked up cut the same way: a cut form still equals the
# cut atom, and still starts with any prefix, so nothing is lost.
MAX_FORM = 200


def _tokenizer_version() -> str:
    """A fingerprint of everything that decides a paper's tokens: the tokenizer's code, the acronym
    list, the stemmer and Unicode's tables. Any change makes every stored search_terms stale."""
    module = Path(matching_normalize.__file__)
    digest = hashlib.sha256()
    digest.update(module.read_bytes())
    digest.update(module.with_name("acronyms.json").read_bytes())
    digest.update(f"PyStemmer {version('PyStemmer')} unicode {unicodedata.unidata_version}".encode())
    return digest.hexdigest()[:16]


SEARCH_TERMS_VERSION = _tokenizer_version()


# --- The paper side --------------------------------------------------------------------------------


def paper_search_terms(record: PaperRecord) -> list[str]:
    """Every term and raw word form of `record`'s tokens, cut to MAX_FORM characters, sorted, once each."""
    tokens = matching_normalize.tokenize_fields(
        record.title, record.abstract, record.ai_keywords, record.authors
    )
    forms = {token.term for token in tokens} | {token.raw for token in tokens}
    return sorted({form[:MAX_FORM] for form in forms})


def paper_search_terms_of(paper: Paper) -> list[str]:
    """The search_terms of a Paper instance, from the same record the engine would read."""
    return paper_search_terms(
        paper_record_from_row({field: getattr(paper, field) for field in RECORD_FIELDS})
    )


def paper_index_for_search(paper: Paper) -> None:
    """Set `paper`'s search_terms from its current fields (the caller saves it)."""
    paper.search_terms = paper_search_terms_of(paper)
    paper.search_terms_version = SEARCH_TERMS_VERSION


# --- The query side --------------------------------------------------------------------------------


class _Combine(Protocol):
    def atom(self, atom: str) -> Any: ...
    def all_of(self, parts: list[Any]) -> Any: ...
    def any_of(self, parts: list[Any]) -> Any: ...


def _prefilter(node: Node, combine: _Combine) -> Any:
    """The condition a paper matched by `node` meets, spelled by `combine` (see the module docstring)."""
    if isinstance(node, Leaf):
        return combine.all_of(
            [
                combine.any_of([combine.all_of([combine.atom(a) for a in alt]) for alt in slot])
                for slot in node.slots
            ]
        )
    if isinstance(node, Or):
        return combine.any_of([_prefilter(child, combine) for child in node.children])
    if isinstance(node, And):
        return combine.all_of([_prefilter(child, combine) for child in node.required])
    raise TypeError(f"not a query node: {node!r}")


class _Tsquery:
    """PostgreSQL: one tsquery over the forms as lexemes ('llm' | 'larg' & 'languag' & 'model')."""

    def atom(self, atom: str) -> str:
        form, prefix = (atom[:-1], ":*") if atom.endswith("*") else (atom, "")
        quoted = form[:MAX_FORM].replace("\\", "\\\\").replace("'", "''")  # forms hold neither; to be safe
        return f"'{quoted}'{prefix}"

    def all_of(self, parts: list[str]) -> str:
        return parts[0] if len(parts) == 1 else "(" + " & ".join(parts) + ")"

    def any_of(self, parts: list[str]) -> str:
        return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"


class _Like:
    """Other databases (SQLite): LIKE conditions over the space-separated forms."""

    def atom(self, atom: str) -> Q:
        if atom.endswith("*"):
            return Q(search_terms__has_prefix=atom[:-1][:MAX_FORM])
        return Q(search_terms__has_term=atom[:MAX_FORM])

    def all_of(self, parts: list[Q]) -> Q:
        return reduce(operator.and_, parts)

    def any_of(self, parts: list[Q]) -> Q:
        return reduce(operator.or_, parts)


def search_prefilter(root: Node) -> Q:
    """A condition every paper matched by `root` meets, for this database."""
    if connection.vendor == "postgresql":
        return Q(search_terms__tsquery=_prefilter(root, _Tsquery()))
    return _prefilter(root, _Like())


def search_terms_stale() -> Q:
    """Papers whose search_terms another tokenizer wrote (or none yet)."""
    # Two ranges rather than `<>`, so PostgreSQL can read the (normally empty) set from the index.
    return Q(search_terms_version__lt=SEARCH_TERMS_VERSION) | Q(search_terms_version__gt=SEARCH_TERMS_VERSION)


def search_candidates(root: Node) -> QuerySet[Paper]:
    """The papers the engine must look at for `root`, in id order (its tie order)."""
    condition = search_prefilter(root)
    if Paper.objects.filter(search_terms_stale()).exists():
        condition |= search_terms_stale()
    return Paper.objects.filter(condition).order_by("id")


@contextmanager
def _from_the_index() -> Iterator[None]:
    """Make PostgreSQL read candidates through the terms index, however many there are.

    Its planner does not count the cost of decompressing each row's forms to test them, so for a
    common word it picks a sequential scan or an id-ordered index scan that tests every row: on
    20,000 papers 1.2 s, against 60 ms through the index (benchmarks/bench_search.py). Test rows
    never need that: the index answers exactly. Scoped to one transaction (SET LOCAL), then reset.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        yield
        cursor.execute("SET LOCAL enable_seqscan = on")
        cursor.execute("SET LOCAL enable_indexscan = on")


# --- The search ------------------------------------------------------------------------------------
# The engine's cost is tokenizing each paper it reads (a few milliseconds each), so a line that many
# papers hold ("model", "LLM") cannot be matched against all of them for one page. The engine ranks
# by relevance x factor, where the factor (popularity x freshness) depends only on upvotes and the
# news day, and relevance of one line is at most the best field weight (3). Reading candidates by
# falling factor, a paper not read yet can score at most 3 x its factor: once the limit-th best
# score found beats that bound, nothing unread can enter the first `limit`, and the search stops.

# Candidates matched in the first round (at least twice the limit), doubling each round. Up to this
# many, a search is always complete and the page can say how many papers match.
FIRST_CHUNK = 200
# Rounds stop doubling here: the ids of one round go into one query (SQLite takes 32,766 parameters).
MAX_CHUNK = 6400


@dataclass(frozen=True)
class SearchResult:
    matches: list[Match]  # best first; with a limit, exactly the first `limit` of the full list
    total: int | None  # how many papers match in all; None when the search stopped early
    candidates: int  # papers the pre-filter let through


def paper_search(*, line: str, today: dt.date, limit: int | None = None) -> SearchResult:
    """The papers `line` matches, best first: the list `match_papers([line], records of every paper
    in id order, today=today)` gives, or its first `limit`. Raises InterestSyntaxError for a line
    that does not parse."""
    query = parse_interest(line)
    candidates = search_candidates(query.root)
    if limit is None:
        with _from_the_index():
            records = paper_records_of(papers=candidates)
        matches = match_papers([line], records, today=today)
        return SearchResult(matches, len(matches), len(records))
    return _search_best(line, candidates, today=today, limit=limit)


def _search_best(line: str, candidates: QuerySet[Paper], *, today: dt.date, limit: int) -> SearchResult:
    with _from_the_index():
        order = _by_falling_factor(candidates, today=today)  # [(factor, id)]
    # A reader of this one line, cut to `limit`: the engine explains (highlights) only what it keeps.
    reader = [SubscriberRecord(id=0, interests=[line], top_k=limit)]
    found: list[Match] = []
    total = 0
    done, chunk = 0, min(max(FIRST_CHUNK, 2 * limit), MAX_CHUNK)
    while done < len(order):
        ids = sorted(paper_id for _, paper_id in order[done : done + chunk])
        records = paper_records_of(papers=Paper.objects.filter(id__in=ids).order_by("id"))
        stats: dict[str, Any] = {}
        best_of_chunk = plan_digests(reader, records, today=today, stats=stats).get(0, [])
        total += stats["interest_paper_matches"]  # one interest: the papers of the chunk it matched
        found = _best_first([*found, *best_of_chunk])[:limit]
        done, chunk = done + chunk, min(chunk * 2, MAX_CHUNK)
        if done < len(order) and len(found) == limit and found[-1].score > MAX_RELEVANCE * order[done][0]:
            return SearchResult(found, None, len(order))
    return SearchResult(found, total, len(order))


def _by_falling_factor(candidates: QuerySet[Paper], *, today: dt.date) -> list[tuple[float, int]]:
    """(factor, id) of every candidate, highest factor first, from the few columns the factor reads."""
    rows = candidates.values("id", "upvotes", "featured_on", "published_at").iterator(chunk_size=READ_CHUNK)
    factors = [(paper_factor(paper_record_from_row({**row, **NO_TEXT}), today), row["id"]) for row in rows]
    factors.sort(key=lambda entry: (-entry[0], entry[1]))
    return factors


def _best_first(matches: list[Match]) -> list[Match]:
    # The engine's own order: higher score first, then the paper given first (ids are given in order).
    return sorted(matches, key=lambda match: (-match.score, match.paper_id))
