"""Syntax tree -> normalized query tree, with a canonical key per node.

Two interests that mean the same thing get the same key (`LLMs  agents` and `agent llm`), because
keys are built from stemmed slots with the children of AND and OR sorted and deduplicated. The key of
the root is what `canonical_interest` returns and what the engine deduplicates on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from . import normalize as nz
from .parser import AnyOf, Fielded, InterestSyntaxError, Item, Phrase, Word, parse_syntax

_FIELD_MASKS = {"title": nz.TITLE_MASK, "abstract": nz.ABSTRACT_MASK, "author": nz.AUTHORS_MASK}


@dataclass(frozen=True, slots=True)
class Leaf:
    """Words on consecutive positions within one of `fields` (a mask); one slot is a single word."""

    fields: int
    slots: tuple[nz.Slot, ...]
    key: str


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]
    key: str


@dataclass(frozen=True, slots=True)
class And:
    required: tuple[Node, ...]  # never empty: the parser guarantees a positive item
    excluded: tuple[Node, ...]
    key: str


Node = Leaf | Or | And


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed, normalized interest. `canonical` is the deduplication key."""

    text: str
    root: Node

    @property
    def canonical(self) -> str:
        return self.root.key


def compiled_form(text: str) -> list:
    """The interest's syntax tree as plain JSON data, for storing beside the typed text.

    Loading it back (`node_from_form`) is several times cheaper than parsing the text again, which
    is what a planner with hundreds of thousands of distinct interests would otherwise do every run.
    Raises InterestSyntaxError.
    """
    return _form(_compile_cached(text))


def _form(node: Node) -> list:
    if isinstance(node, Leaf):
        return [_LEAF, node.fields, [[list(atoms) for atoms in slot] for slot in node.slots], node.key]
    if isinstance(node, Or):
        return [_OR, [_form(child) for child in node.children], node.key]
    return [_AND, [_form(c) for c in node.required], [_form(c) for c in node.excluded], node.key]


def node_from_form(form: list) -> Node:
    """The Node a `compiled_form` describes. Raises ValueError for data that is not one."""
    try:
        return _node(form)
    except (IndexError, TypeError, KeyError) as error:
        raise ValueError(f"not a compiled interest: {str(form)[:80]}") from error


def _node(form: list) -> Node:
    kind = form[0]
    if kind == _LEAF:
        return _stored_leaf(form[3], form[1], form[2])
    if kind == _OR:
        return Or(tuple(_node(child) for child in form[1]), form[2])
    if kind == _AND:
        return And(tuple(_node(c) for c in form[1]), tuple(_node(c) for c in form[2]), form[3])
    raise KeyError(kind)


def _stored_leaf(key: str, fields: int, slots: list) -> Leaf:
    # Leaves recur across interests: build each once (the key and the field mask name it).
    leaf = _LEAVES.get((key, fields))
    if leaf is None:
        leaf = _LEAVES[(key, fields)] = Leaf(
            fields, tuple(tuple(tuple(a) for a in slot) for slot in slots), key
        )
    return leaf


_LEAF, _OR, _AND = 0, 1, 2
_LEAVES: dict[tuple[str, int], Leaf] = {}


def parse_interest(text: str) -> Query:
    """Parse and normalize one interest line; raises InterestSyntaxError with the position."""
    return Query(text, _compile_cached(text))


def canonical_interest(text: str) -> str:
    return _compile_cached(text).key


@lru_cache(maxsize=65536)
def _compile_cached(text: str) -> Node:
    return compile_item(parse_syntax(text), nz.DEFAULT_FIELDS)


def compile_item(item: Item, fields: int) -> Node:
    if isinstance(item, Word):
        return _word(item.text, item.prefix, fields)
    if isinstance(item, Phrase):
        leaf = _phrase(item.text, fields)
        if leaf is None:
            raise InterestSyntaxError("empty phrase", item.position, "words between the quotes")
        return leaf
    if isinstance(item, Fielded):
        return compile_item(item.item, _FIELD_MASKS[item.field])
    if isinstance(item, AnyOf):
        return make_or([compile_item(i, fields) for i in item.items])
    return make_and(
        [compile_item(i, fields) for i in item.required], [compile_item(i, fields) for i in item.excluded]
    )


# Words and phrases recur across many interests (a run has far fewer distinct leaves than interests):
# normalizing each once makes compiling cost follow distinct words rather than interests.
@lru_cache(maxsize=65536)
def _word(text: str, prefix: bool, fields: int) -> Leaf:
    return _leaf(nz.query_slots(text, prefix=prefix), fields)


@lru_cache(maxsize=65536)
def _phrase(text: str, fields: int) -> Leaf | None:
    """The phrase's leaf, or None when it holds no word."""
    slots: list[nz.Slot] = []
    for chunk in text.split():
        prefix = chunk.endswith("*") and len(chunk) > 1 and chunk[-2].isalnum()
        slots.extend(nz.query_slots(chunk[:-1] if prefix else chunk, prefix=prefix))
    if not slots:
        return None
    acronym = nz.acronym_slot_for_phrase(slots)
    return _leaf([acronym] if acronym else slots, fields)


def _leaf(slots: list[nz.Slot], fields: int) -> Leaf:
    words = " ".join(nz.slot_label(s) for s in slots)
    body = f'"{words}"' if len(slots) > 1 else words
    scope = "" if fields == nz.DEFAULT_FIELDS else _field_label(fields) + ":"
    return Leaf(fields, tuple(slots), scope + body)


def _field_label(fields: int) -> str:
    return next(name for name, mask in _FIELD_MASKS.items() if mask == fields)


def make_or(children: list[Node]) -> Node:
    flat: dict[str, Node] = {}
    for child in children:
        for grandchild in child.children if isinstance(child, Or) else (child,):
            flat[grandchild.key] = grandchild
    if len(flat) == 1:
        return next(iter(flat.values()))
    ordered = tuple(flat[k] for k in sorted(flat))
    return Or(ordered, "(or " + " ".join(flat_key for flat_key in sorted(flat)) + ")")


def make_and(required: list[Node], excluded: list[Node]) -> Node:
    if len(required) == 1 and not excluded and not isinstance(required[0], And):
        return required[0]  # what the general case gives, for the commonest interest: one item alone
    needed: dict[str, Node] = {}
    banned: dict[str, Node] = {n.key: n for n in excluded}
    for child in required:
        if isinstance(child, And):  # `a (b -c)` is `a b -c`
            needed.update((n.key, n) for n in child.required)
            banned.update((n.key, n) for n in child.excluded)
        else:
            needed[child.key] = child
    if len(needed) == 1 and not banned:
        return next(iter(needed.values()))
    keys = sorted(needed) + [f"(not {k})" for k in sorted(banned)]
    return And(
        tuple(needed[k] for k in sorted(needed)),
        tuple(banned[k] for k in sorted(banned)),
        "(and " + " ".join(keys) + ")",
    )
