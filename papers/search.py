"""The search box speaks the interest language: a line finds exactly the papers it would pick by email.

The matching engine (`newsletter.matching`) decides what matches and in which order; the database
only narrows the papers it reads first, with a pre-filter that can widen the set but never drop a
paper the engine would match. Why it cannot:

1. The engine looks a leaf (a word, phrase, compound, acronym or `prefix*`, maybe restricted to a
   field) up by its *atoms*: a stemmed term, equal to a paper token's term, or a prefix, the start
   of a token's raw form (case-folded, unstemmed). A leaf matches a paper only where, for each of
   its slots in turn, the atoms of one of the slot's alternatives are tokens of the paper, each
   starting where the previous one ends, all in one of the leaf's fields (`index.match_leaf`,
   `reference.slot_paths`). Stemming, Unicode normalization, acronym plurals (`LLMs`) and
   expansions (`RL` = `RL` or "reinforcement learning") all happen in building atoms and tokens.
2. `Paper.search_terms` holds, made by the engine's own tokenizer from the very record the engine
   reads (papers.search_terms), every token's term and raw form, tagged by field, and the term
   pairs of tokens side by side. So a matching paper holds, under the leaf's field tag, each
   term atom, a form starting with each prefix, and the pair of any two atoms the match puts side
   by side (unless the pair is one that is never stored: `pairable`).
3. The filter asks for exactly those: for a leaf, AND over slots of (OR over alternatives of the
   atoms and inner pairs), AND, between two slots, the OR of the pairs their alternatives could
   form; for an OR, the OR of its children; for an AND, the AND of its *required* children only
   (exclusions are left to the engine: ignoring a condition can only widen the set).
4. A row whose terms another tokenizer wrote (`search_terms_version` differs, after an upgrade),
   or written without them (new rows, edited text, until papers_refresh_search_terms), always
   passes the filter.

No stemmer or dictionary of the database is involved (PostgreSQL's full-text parser splits and
stems words its own way, so a match of its `to_tsvector` would prove nothing about ours).
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import reduce
from itertools import pairwise
from typing import Any, Protocol

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from newsletter.matching import (
    Match,
    SubscriberRecord,
    match_papers,
    parse_interest,
    plan_digests,
)
from newsletter.matching import normalize as matching_normalize
from newsletter.matching.compiler import And, Leaf, Node, Or
from newsletter.matching.lines import line_kind, parse_line
from newsletter.matching.rank import paper_factor
from newsletter.matching.records import Source
from papers.models import Paper
from papers.records import READ_CHUNK, paper_record_from_row, paper_records_of
from papers.search_by_meaning import meaning_matches
from papers.search_terms import MAX_FORM, field_tag, pair_form, pairable, search_terms_stale
from papers.sources.records import normalize_arxiv_id

# The most one line adds to a paper's relevance: the weight of the best field it can match in.
MAX_RELEVANCE = max(matching_normalize.FIELD_WEIGHTS)
NO_TEXT = {"title": "", "abstract": "", "authors": (), "ai_keywords": ()}


# --- The query side --------------------------------------------------------------------------------


class _Combine(Protocol):
    def atom(self, atom: str) -> Any: ...
    def all_of(self, parts: list[Any]) -> Any: ...
    def any_of(self, parts: list[Any]) -> Any: ...


def _prefilter(node: Node, combine: _Combine) -> Any:
    """The condition a paper matched by `node` meets, spelled by `combine` (see the module docstring)."""
    if isinstance(node, Leaf):
        return _leaf_prefilter(node, combine)
    if isinstance(node, Or):
        return combine.any_of([_prefilter(child, combine) for child in node.children])
    if isinstance(node, And):
        return combine.all_of([_prefilter(child, combine) for child in node.required])
    raise TypeError(f"not a query node: {node!r}")


def _leaf_prefilter(leaf: Leaf, combine: _Combine) -> Any:
    tag = field_tag(leaf.fields)
    parts = [
        combine.any_of([_alternative(tag, alternative, combine) for alternative in slot])
        for slot in leaf.slots
    ]
    for before, after in pairwise(leaf.slots):
        # Whichever alternatives the match takes, the last atom of one touches the first of the next.
        touching = [(a[-1], b[0]) for a in before for b in after]
        if all(pairable(first, second) for first, second in touching):
            parts.append(combine.any_of([combine.atom(pair_form(tag, *both)) for both in touching]))
    return combine.all_of(parts)


def _alternative(tag: str, atoms: tuple[str, ...], combine: _Combine) -> Any:
    inner_pairs = [pair_form(tag, a, b) for a, b in pairwise(atoms) if pairable(a, b)]
    return combine.all_of(
        [combine.atom(tag + atom) for atom in atoms] + [combine.atom(p) for p in inner_pairs]
    )


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
    that does not parse. A `~ description` or `like:ARXIV_ID` line finds papers by meaning instead
    (search_by_meaning.py)."""
    if line_kind(line) is not Source.KEYWORD:
        matches, above, compared = meaning_matches(
            parse_line(line, normalize_id=normalize_arxiv_id), limit=limit
        )
        return SearchResult(matches, above, compared)
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
