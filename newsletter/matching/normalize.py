"""What a "word" is, identically for papers and interests.

Papers become a token lattice: every word gets one position, and a compound joined by `-` or `/`
(`self-supervised`) also gets its concatenation (`selfsupervised`) as an extra token that starts at
the first part and spans all parts. A query can then find the compound written either way with
plain position arithmetic.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import Stemmer

# Runs of letters and digits; `_` is a word character for `\w` but not for us.
_WORD = re.compile(r"[^\W_]+")
# A compound: words joined by hyphens (ASCII and the two Unicode hyphens NFKC keeps) or slashes.
_CHAIN = re.compile(r"[^\W_]+(?:[-/\u2010\u2011][^\W_]+)*")
_WORD_AND_JOINER = re.compile(r"([^\W_]+)([-/\u2010\u2011](?=[^\W_]))?")

# Fields live in one position space, far apart, so a phrase can never run across two of them.
FIELD_SHIFT = 20
TITLE, ABSTRACT, KEYWORDS, AUTHORS = 0, 1, 2, 3
FIELD_NAMES = ("title", "abstract", "keywords", "author")
TITLE_MASK, ABSTRACT_MASK, KEYWORDS_MASK, AUTHORS_MASK = 1, 2, 4, 8
DEFAULT_FIELDS = TITLE_MASK | ABSTRACT_MASK | KEYWORDS_MASK
# Where a match counts most: an author match is as deliberate as a title match.
FIELD_WEIGHTS = (3, 2, 1, 3)

_STEMMER = Stemmer.Stemmer("english")
_ACRONYM_FILE = Path(__file__).with_name("acronyms.json")


class Token(NamedTuple):
    term: str  # stemmed; what words and phrases compare
    raw: str  # case-folded, unstemmed; what `prefix*` compares
    start: int
    end: int  # exclusive; a concatenated compound spans all its parts
    surface: str  # as written, for highlighting


def field_of(position: int) -> int:
    return position >> FIELD_SHIFT


def weight_of_mask(mask: int) -> int:
    """The best weight among the fields in `mask` (0 when empty)."""
    return _MASK_WEIGHTS[mask]


_MASK_WEIGHTS = tuple(
    max((FIELD_WEIGHTS[f] for f in range(4) if mask >> f & 1), default=0) for mask in range(16)
)


def stem(word: str) -> str:
    return _STEMMER.stemWord(word)


def _drop_acronym_plural(word: str) -> str:
    """`LLMs` -> `LLM`, `NeRFs` -> `NeRF`: an `s` after an upper-case letter in a word with two capitals."""
    if len(word) > 2 and word[-1] == "s" and word[-2].isupper():
        capitals = sum(1 for c in word[:-1] if c.isupper())
        if capitals >= 2:
            return word[:-1]
    return word


@lru_cache(maxsize=1 << 17)
def normalize_word(word: str) -> str:
    """One NFKC word (letters and digits) -> its case-folded, unstemmed form."""
    folded = _drop_acronym_plural(word).casefold()
    # Lower-case plurals of known acronyms (`llms`) would otherwise stem to a different term.
    if folded.endswith("s") and folded[:-1] in ACRONYMS:
        return folded[:-1]
    return folded


@lru_cache(maxsize=8192)
def tokenize(text: str, start: int = 0) -> tuple[Token, ...]:
    """Tokens of one field value, positions from `start` (cached: a batch is read more than once)."""
    # (word, joiner) pairs; the joiner is kept only when a word follows it directly.
    pairs = _WORD_AND_JOINER.findall(unicodedata.normalize("NFKC", text))
    words = [normalize_word(word) for word, _ in pairs]
    terms = _STEMMER.stemWords(words)
    tokens = [
        Token(term, word, position, position + 1, pair[0])
        for position, (term, word, pair) in enumerate(zip(terms, words, pairs, strict=True), start)
    ]
    first = None
    for i, (_, joiner) in enumerate(pairs):
        if joiner and first is None:
            first = i
        elif not joiner and first is not None:
            tokens.append(_compound(pairs[first : i + 1], words[first : i + 1], start + first))
            first = None
    return tuple(tokens)


def _compound(pairs: list[tuple[str, str]], words: list[str], position: int) -> Token:
    joined = "".join(words)
    surface = "".join(word + joiner for word, joiner in pairs)
    return Token(stem(joined), joined, position, position + len(words), surface)


def tokenize_list(values: Iterable[str], start: int) -> list[Token]:
    """Several values of one field (keywords, authors): a gap between them stops phrases crossing."""
    tokens: list[Token] = []
    position = start
    for value in values:
        value_tokens = tokenize(value, position)
        tokens.extend(value_tokens)
        if value_tokens:
            position = max(t.end for t in value_tokens) + 1
    return tokens


def tokenize_fields(
    title: str, abstract: str, ai_keywords: Sequence[str] = (), authors: Sequence[str] = ()
) -> list[Token]:
    return [
        *tokenize(title, TITLE << FIELD_SHIFT),
        *tokenize(abstract, ABSTRACT << FIELD_SHIFT),
        *tokenize_list(ai_keywords, KEYWORDS << FIELD_SHIFT),
        *tokenize_list(authors, AUTHORS << FIELD_SHIFT),
    ]


# --- query side -------------------------------------------------------------------------------------
# An atom is a stemmed term, or an unstemmed prefix ending in "*" (terms never contain "*").
# A slot is one query word: a tuple of alternatives, each a tuple of atoms on consecutive positions.
Slot = tuple[tuple[str, ...], ...]


def query_slots(chunk: str, *, prefix: bool = False) -> list[Slot]:
    """The slots of one query word as typed (`self-supervised`, `LLMs`, `quantiz` with prefix=True).

    Punctuation other than `-` and `/` separates words, so `U.S.` becomes two slots of a phrase.
    """
    chains = _CHAIN.findall(unicodedata.normalize("NFKC", chunk))
    slots = [_chain_slot(c, prefix=False) for c in chains[:-1]]
    if chains:
        slots.append(_chain_slot(chains[-1], prefix=prefix))
    return slots


def _chain_slot(chain: str, *, prefix: bool) -> Slot:
    parts = _WORD.findall(chain)
    if prefix:
        words = [normalize_word(p) for p in parts[:-1]] + [parts[-1].casefold()]
        atoms = [*_STEMMER.stemWords(words[:-1]), words[-1] + "*"]
        if len(parts) == 1:
            return ((atoms[0],),)
        return (tuple(atoms), ("".join(words) + "*",))
    words = [normalize_word(p) for p in parts]
    terms = tuple(_STEMMER.stemWords(words))
    if len(parts) > 1:
        return (terms, (stem("".join(words)),))
    expansion = ACRONYM_EXPANSIONS.get(terms[0])
    if expansion:
        return (terms, expansion)
    return (terms,)


def acronym_slot_for_phrase(slots: Sequence[Slot]) -> Slot | None:
    """A quoted phrase equal to an acronym's expansion becomes that acronym's slot."""
    if not all(len(slot) == 1 and len(slot[0]) == 1 for slot in slots):
        return None
    acronym = ACRONYM_BY_EXPANSION.get(tuple(slot[0][0] for slot in slots))
    if acronym is None:
        return None
    return ((acronym,), ACRONYM_EXPANSIONS[acronym])


def slot_label(slot: Slot) -> str:
    """The canonical spelling of a slot: its first alternative (the others follow from it)."""
    return "-".join(slot[0])


@lru_cache(maxsize=1)
def _load_acronyms() -> dict[str, str]:
    return json.loads(_ACRONYM_FILE.read_text(encoding="utf-8"))


def _expansion_terms(expansion: str) -> tuple[str, ...]:
    # Only the single-word tokens: an expansion is matched as a plain phrase of its words.
    return tuple(t.term for t in tokenize(expansion) if t.end - t.start == 1)


ACRONYMS: frozenset[str] = frozenset(a.casefold() for a in _load_acronyms())
ACRONYM_EXPANSIONS: dict[str, tuple[str, ...]] = {
    stem(acronym.casefold()): (_expansion_terms(expansion)) for acronym, expansion in _load_acronyms().items()
}
ACRONYM_BY_EXPANSION: dict[tuple[str, ...], str] = {v: k for k, v in ACRONYM_EXPANSIONS.items()}
