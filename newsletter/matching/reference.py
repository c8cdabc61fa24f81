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
from .compiler import Leaf, Node, Or, parse_interest
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
    return TokenizedPaper(
        tokens, by_start, frozenset(t.term for t in tokens), frozenset(t.raw for t in tokens)
    )


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
    first_atoms = {alternative[0] for alternative in leaf.slots[0]}
    starts = {
        t.start
        for t in paper.tokens
        if leaf.fields >> nz.field_of(t.start) & 1 and any(_atom_matches(a, t) for a in first_atoms)
    }
    for start in sorted(starts):
        field = nz.field_of(start)
        for path in slot_paths(leaf.slots, 0, start, paper.by_start):
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


def slot_paths(
    slots: tuple[nz.Slot, ...], i: int, position: int, by_start: dict[int, list[nz.Token]]
) -> list[list[nz.Token]]:
    """Every token path matching slots[i:] from `position` (explain.py walks leaves with it too)."""
    if i == len(slots):
        return [[]]
    paths = []
    for alternative in slots[i]:
        for head in _atoms_from(alternative, 0, position, by_start):
            for rest in slot_paths(slots, i + 1, head[-1].end, by_start):
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
    """Distinct words as written, in reading order: what the digest highlights.

    A part of a matched compound (`Self` in `Self-Supervised`) is left out: the compound says it all.
    """
    words: list[str] = []
    covered_until = -1
    for token in sorted(set(tokens), key=lambda t: (t.start, -t.end)):
        if token.end <= covered_until:
            continue
        covered_until = max(covered_until, token.end)
        words.append(token.surface)
    return list(dict.fromkeys(words))


# --- whole runs, for tests and the benchmark ---------------------------------------------------------


def reference_plan(
    subscribers: list[SubscriberRecord],
    papers: list[PaperRecord],
    *,
    already_sent: Iterable[tuple[int, PaperId]] = (),
    today: dt.date | None = None,
) -> dict[int, list[Match]]:
    """Every interest against every paper, then each reader's papers scored, sorted and cut."""
    today = today or dt.date.today()
    sent = set(already_sent)
    tokenized = [tokenize_paper(p) for p in papers]
    factors = [paper_factor(p, today) for p in papers]
    hits_by_key: dict[str, dict[int, Hit]] = {}
    plan = {}
    for subscriber in subscribers:
        queries = _queries_by_canonical(subscriber.interests)
        for key, (root, _) in queries.items():
            if key not in hits_by_key:
                hits_by_key[key] = _hits_in_papers(root, tokenized)
        matches = _reference_digest(subscriber, papers, factors, sent, queries, hits_by_key)
        if matches:
            plan[subscriber.id] = matches
    return plan


def reference_match_papers(
    interests: list[str], papers: list[PaperRecord], *, today: dt.date | None = None
) -> list[Match]:
    reader = SubscriberRecord(id=0, interests=list(interests), top_k=len(papers))
    return reference_plan([reader], papers, today=today).get(0, [])


def _hits_in_papers(root: Node, tokenized: list[TokenizedPaper]) -> dict[int, Hit]:
    hits = {}
    for index, paper in enumerate(tokenized):
        hit = evaluate(root, paper)
        if hit is not None:
            hits[index] = hit
    return hits


def _reference_digest(
    subscriber: SubscriberRecord,
    papers: list[PaperRecord],
    factors: list[float],
    sent: set[tuple[int, PaperId]],
    queries: dict[str, tuple[Node, list[str]]],
    hits_by_key: dict[str, dict[int, Hit]],
) -> list[Match]:
    relevance: dict[int, int] = {}
    texts: dict[int, list[str]] = {}
    tokens: dict[int, list[nz.Token]] = {}
    for key, (_, typed) in queries.items():
        for index, hit in hits_by_key[key].items():
            relevance[index] = relevance.get(index, 0) + hit.weight
            texts.setdefault(index, []).extend(typed)
            tokens.setdefault(index, []).extend(hit.tokens)
    scored = []
    for index, total in relevance.items():
        if (subscriber.id, papers[index].id) not in sent:
            match = Match(
                papers[index].id, score(total, factors[index]), texts[index], surface_words(tokens[index])
            )
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
