"""The interest language's syntax: text -> syntax tree, or an error naming the position.

Grammar (one interest is one line):

    interest := clause+                      all clauses required (implicit AND)
    clause   := "-" primary | primary ("OR" primary)*
    primary  := FIELD ":" primary | "(" interest ")" | '"' words '"' | word["*"]

`OR` binds tighter than the implicit AND, as in Google Scholar. A group, like the whole interest,
needs at least one item that is not excluded. Nothing here knows about stemming: see compiler.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

FIELDS = ("title", "abstract", "author")
_HAS_WORD = re.compile(r"[^\W_]")
_SPACES = re.compile(r"\s*")
# One lexeme after optional spaces, as a reader takes them: a special character, a quoted phrase, a field
# prefix, or a chunk (a run of anything else: `OR`, a word, or punctuation alone). One regex match per
# lexeme keeps lexing cheap: a run compiles tens of thousands of distinct interests.
_LEXEME = re.compile(r'\s*(?:([()-])|"([^"]*)"|((?i:title|abstract|author)):|([^\s()"]+))')
_SPECIAL, _PHRASE, _FIELD, _CHUNK = 1, 2, 3, 4  # _LEXEME's groups
# Deeper nesting than any person types; the limit keeps recursion far from Python's own.
MAX_DEPTH = 32


class InterestSyntaxError(ValueError):
    """A bad interest: `position` is the 0-based character offset, `expected` what would have fitted."""

    def __init__(self, message: str, position: int, expected: str = "") -> None:
        super().__init__(f"{message} at {position}")
        self.message = message
        self.position = position
        self.expected = expected


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    position: int
    prefix: bool = False  # typed with a trailing "*"


@dataclass(frozen=True, slots=True)
class Phrase:
    text: str  # between the quotes
    position: int  # of the opening quote


@dataclass(frozen=True, slots=True)
class Fielded:
    field: str
    item: Item
    position: int


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Item, ...]
    position: int


@dataclass(frozen=True, slots=True)
class AllOf:
    required: tuple[Item, ...]
    excluded: tuple[Item, ...]
    position: int


Item = Word | Phrase | Fielded | AnyOf | AllOf


class _Lexeme(NamedTuple):  # a tuple: made for every lexeme of every interest, so cheap to make
    kind: str  # "(", ")", "-", "OR", "field", "phrase", "word"
    text: str
    start: int
    end: int


_ITEM_EXPECTED = "a word, phrase or group"


def parse_syntax(text: str) -> AllOf:
    """Parse one interest line. Raises InterestSyntaxError."""
    return _Parser(text, _lex(text)).parse()


def _lex(text: str) -> list[_Lexeme]:
    lexemes: list[_Lexeme] = []
    i = 0
    while (found := _LEXEME.match(text, i)) is not None:
        i = found.end()
        group = found.lastindex
        if group == _SPECIAL:
            lexemes.append(_Lexeme(found[group], found[group], i - 1, i))
        elif group == _PHRASE:
            lexemes.append(_Lexeme("phrase", found[group], found.start(group) - 1, i))
        elif group == _FIELD:
            lexemes.append(_Lexeme("field", found[group].lower(), found.start(group), i))
        else:
            _add_chunk(found[group], found.start(group), lexemes)
    # Every character can start a lexeme except a quote without its closing one.
    stopped = _SPACES.match(text, i).end()
    if stopped < len(text):
        raise InterestSyntaxError("unclosed quote", stopped, "a closing quote")
    return lexemes


def _add_chunk(chunk: str, start: int, lexemes: list[_Lexeme]) -> None:
    if chunk == "OR":
        lexemes.append(_Lexeme("OR", chunk, start, start + 2))
    elif _HAS_WORD.search(chunk):
        _check_star(chunk, start)
        lexemes.append(_Lexeme("word", chunk, start, start + len(chunk)))
    # Punctuation alone (`&`, `:`) carries no word: it is skipped like a space.


def _check_star(chunk: str, start: int) -> None:
    star = chunk.find("*")
    if star < 0:
        return
    if star != len(chunk) - 1:
        raise InterestSyntaxError("'*' inside a word", start + star, "'*' only at the end of a word")
    if not _HAS_WORD.match(chunk[-2]):
        raise InterestSyntaxError("'*' after punctuation", start + star, "letters or digits before '*'")


class _Parser:
    def __init__(self, text: str, lexemes: list[_Lexeme]) -> None:
        self.text = text
        self.lexemes = lexemes
        self.i = 0
        self.depth = 0

    def parse(self) -> AllOf:
        if not self.lexemes:
            raise InterestSyntaxError("empty interest", 0, _ITEM_EXPECTED)
        result = self._all_of(0)
        if self._peek() is not None:  # only a stray ")" stops _all_of early
            lexeme = self._peek()
            raise InterestSyntaxError("unexpected ')'", lexeme.start, _ITEM_EXPECTED)
        return result

    def _peek(self) -> _Lexeme | None:
        return self.lexemes[self.i] if self.i < len(self.lexemes) else None

    def _take(self) -> _Lexeme:
        lexeme = self.lexemes[self.i]
        self.i += 1
        return lexeme

    def _end_position(self) -> int:
        return len(self.text)

    def _all_of(self, position: int) -> AllOf:
        required: list[Item] = []
        excluded: list[Item] = []
        while (lexeme := self._peek()) is not None and lexeme.kind != ")":
            if lexeme.kind == "OR":
                raise InterestSyntaxError("OR without an item before it", lexeme.start, _ITEM_EXPECTED)
            if lexeme.kind == "-":
                excluded.append(self._exclusion())
            else:
                required.append(self._any_of())
        if not required:
            raise InterestSyntaxError(
                "no item that is not excluded", position, "at least one word, phrase or group to look for"
            )
        return AllOf(tuple(required), tuple(excluded), position)

    def _exclusion(self) -> Item:
        minus = self._take()
        item = self._adjacent_primary(minus, "'-'")
        following = self._peek()
        if following is not None and following.kind == "OR":
            raise InterestSyntaxError(
                "OR after an exclusion", following.start, "a group to exclude, like -(a OR b)"
            )
        return item

    def _any_of(self) -> Item:
        first = self._primary()
        items = [first]
        while (lexeme := self._peek()) is not None and lexeme.kind == "OR":
            self._take()
            following = self._peek()
            if following is None or following.kind not in ("(", "phrase", "word", "field"):
                at = following.start if following is not None else self._end_position()
                raise InterestSyntaxError("OR without an item after it", at, _ITEM_EXPECTED)
            items.append(self._primary())
        if len(items) == 1:
            return first
        return AnyOf(tuple(items), _position(first))

    def _adjacent_primary(self, before: _Lexeme, what: str) -> Item:
        """`-` and `field:` apply to the item written right after them, without a space."""
        following = self._peek()
        if (
            following is None
            or following.start != before.end
            or following.kind not in ("(", "phrase", "word", "field")
        ):
            raise InterestSyntaxError(
                f"nothing after {what}", before.end, f"{_ITEM_EXPECTED} right after {what}"
            )
        return self._primary()

    def _primary(self) -> Item:
        lexeme = self._peek()
        if lexeme is None:
            raise InterestSyntaxError("unexpected end", self._end_position(), _ITEM_EXPECTED)
        if lexeme.kind == "(":
            return self._group()
        if lexeme.kind == "field":
            self._take()
            following = self._peek()
            if following is not None and following.kind == "field" and following.start == lexeme.end:
                raise InterestSyntaxError(
                    "two field prefixes", following.start, "one field per word or phrase"
                )
            return Fielded(lexeme.text, self._adjacent_primary(lexeme, f"'{lexeme.text}:'"), lexeme.start)
        if lexeme.kind == "phrase":
            self._take()
            return Phrase(lexeme.text, lexeme.start)
        if lexeme.kind == "word":
            self._take()
            prefix = lexeme.text.endswith("*")
            return Word(lexeme.text[:-1] if prefix else lexeme.text, lexeme.start, prefix)
        raise InterestSyntaxError(f"unexpected {lexeme.text!r}", lexeme.start, _ITEM_EXPECTED)

    def _group(self) -> Item:
        opening = self._take()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise InterestSyntaxError(
                "too many nested parentheses", opening.start, f"at most {MAX_DEPTH} levels"
            )
        following = self._peek()
        if following is not None and following.kind == ")":
            raise InterestSyntaxError("empty group", opening.start, _ITEM_EXPECTED)
        if following is None:
            raise InterestSyntaxError("unclosed parenthesis", opening.start, "')'")
        inner = self._all_of(opening.start)
        closing = self._peek()
        if closing is None:
            raise InterestSyntaxError("unclosed parenthesis", opening.start, "')'")
        self._take()
        self.depth -= 1
        return inner


def _position(item: Item) -> int:
    return item.position
