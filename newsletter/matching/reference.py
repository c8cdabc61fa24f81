"""The deliberately simple evaluator: each interest against each paper, walking the tree.

No index over interests or papers, no matrices: the property tests and the benchmark hold the fast
engine to what this module says. It is also how the engine finds the words to highlight, for the few
(interest, paper) pairs a digest keeps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from . import normalize as nz
from .compiler import And, Leaf, Node, Or, parse_interest
from .parser import InterestSyntaxError
from .rank import paper_factor, score
from .records import Match, PaperId, PaperRecord, SubscriberRecord


@dataclass(frozen=True, slots=True)
class TokenizedPaper:
    tokens: list[nz.Token]
    by_start: dict[int, list[nz.Token]]
    terms: frozenset[str]
    raws: frozenset[str]


@dataclass(frozen=True, slots=True)
class Hit:
    weight: int  # best field weight among the matched positive words
    tokens: tuple[nz.Token, ...]


def tokenize_paper(paper: PaperRecord) -> TokenizedPaper:
    tokens = nz.tokenize_fields(paper.title, paper.abstract, paper.ai_keywords, paper.authors)
    by_start: dict[int, list[nz.Token]] = {}
    for token in tokens:
        by_start.setdefault(token.start, []).append(token)
    return TokenizedPaper(tokens, by_start, frozenset(t.term for t in tokens), frozenset(t.raw for t in tokens))


def evaluate(node: Node, paper: TokenizedPaper) -> Hit | None:
    """The hit of `node` in `paper`, or None when it does not match."""
    if isinstance(node, Leaf):
        return _evaluate_leaf(node, paper)
    if isinstance(node, Or):
        return _combine([evaluate(child, paper) for child in node.children])
    hits = []
    for child in node.required:
        hit = evaluate(child, paper)
        if hit is None:
            return None
        hits.append(hit)
    if any(evaluate(child, paper) is not None for child in node.excluded):
        return None
    return _combine(hits)


def _combine(hits: list[Hit | None]) -> Hit | None:
    found = [h for h in hits if h is not None]
    if not found:
        return None
    return Hit(max(h.weight for h in found), tuple(t for h in found for t in h.tokens))


def _evaluate_leaf(leaf: Leaf, paper: TokenizedPaper) -> Hit | None:
    if not all(any(_alternative_possible(alt, paper) for alt in slot) for slot in leaf.slots):
        return None  # a cheap early "no"; the scan below alone would give the same answer
    weight = 0
    tokens: list[nz.Token] = []
    for start in sorted(paper.by_start):
        field = nz.field_of(start)
        if not leaf.fields >> field & 1:
            continue
        for path in _slots_from(leaf.slots, 0, start, paper.by_start):
            weight = max(weight, nz.FIELD_WEIGHTS[field])
            tokens.extend(path)
    return Hit(weight, tuple(tokens)) if tokens else None


def _alternative_possible(atoms: tuple[str, ...], paper: TokenizedPaper) -> bool:
    for atom in atoms:
        if atom.endswith("*"):
            if not any(raw.startswith(atom[:-1]) for raw in paper.raws):
                return False
        elif atom not in paper.terms:
            return False
    return True


def _slots_from(
    slots: tuple[nz.Slot, ...], i: int, position: int, by_start: dict[int, list[nz.Token]]
) -> list[list[nz.Token]]:
    """Every token path matching slots[i:] from `position`."""
    if i == len(slots):
        return [[]]
    paths = []
    for alternative in slots[i]:
        for head in _atoms_from(alternative, 0, position, by_start):
            for rest in _slots_from(slots, i + 1, head[-1].end, by_start):
                paths.append(head + rest)
    return paths


def _atoms_from(
    atoms: tuple[str, ...], j: int, position: int, by_start: dict[int, list[nz.Token]]
) -> list[list[nz.Token]]:
    if j == len(atoms):
        return [[]]
    paths = []
    for token in by_start.get(position, ()):
        if _atom_matches(atoms[j], token):
            paths.extend([token, *rest] for rest in _atoms_from(atoms, j + 1, token.end, by_start))
    return paths


def _atom_matches(atom: str, token: nz.Token) -> bool:
    if atom.endswith("*"):
        return token.raw.startswith(atom[:-1])
    return token.term == atom


def surface_words(tokens: Iterable[nz.Token]) -> list[str]:
    """Distinct words as written, in reading order: what the digest highlights."""
    ordered = sorted(set(tokens), key=lambda t: (t.start, t.end))
    return list(dict.fromkeys(t.surface for t in ordered))


# --- whole runs, for tests and the benchmark ---------------------------------------------------------


def reference_plan(
    subscribers: list[SubscriberRecord],
    papers: list[PaperRecord],
    *,
    already_sent: Iterable[tuple[int, PaperId]] = (),
    today: dt.date | None = None,
) -> dict[int, list[Match]]:
    today = today or dt.date.today()
    sent = set(already_sent)
    tokenized = [tokenize_paper(p) for p in papers]
    factors = [paper_factor(p, today) for p in papers]
    cache: dict[tuple[str, int], Hit | None] = {}
    plan = {}
    for subscriber in subscribers:
        matches = _reference_digest(subscriber, papers, tokenized, factors, sent, cache)
        if matches:
            plan[subscriber.id] = matches
    return plan


def reference_match_papers(
    interests: list[str], papers: list[PaperRecord], *, today: dt.date | None = None
) -> list[Match]:
    reader = SubscriberRecord(id=0, interests=list(interests), top_k=len(papers))
    return reference_plan([reader], papers, today=today).get(0, [])


def _reference_digest(
    subscriber: SubscriberRecord,
    papers: list[PaperRecord],
    tokenized: list[TokenizedPaper],
    factors: list[float],
    sent: set[tuple[int, PaperId]],
    cache: dict[tuple[str, int], Hit | None],
) -> list[Match]:
    queries = _queries_by_canonical(subscriber.interests)
    scored = []
    for index, paper in enumerate(papers):
        if (subscriber.id, paper.id) in sent:
            continue
        relevance, texts, tokens = 0, [], []
        for canonical, (root, typed) in queries.items():
            key = (canonical, index)
            if key not in cache:
                cache[key] = evaluate(root, tokenized[index])
            hit = cache[key]
            if hit is not None:
                relevance += hit.weight
                texts.extend(typed)
                tokens.extend(hit.tokens)
        if relevance:
            match = Match(paper.id, score(relevance, factors[index]), texts, surface_words(tokens))
            scored.append((-match.score, index, match))
    scored.sort(key=lambda entry: entry[:2])
    return [match for _, _, match in scored[: subscriber.top_k]]


def _queries_by_canonical(interests: list[str]) -> dict[str, tuple[Node, list[str]]]:
    """Interests the reader typed, grouped by meaning; invalid ones are skipped."""
    queries: dict[str, tuple[Node, list[str]]] = {}
    for text in dict.fromkeys(interests):
        try:
            query = parse_interest(text)
        except InterestSyntaxError:
            continue
        queries.setdefault(query.canonical, (query.root, []))[1].append(text)
    return queries
