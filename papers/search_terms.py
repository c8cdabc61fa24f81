"""What a paper stores for the search box's pre-filter (papers.search): the word forms the matching
engine can look it up by, made by the engine's own tokenizer from the record the engine reads.

For each token (`newsletter.matching.normalize.tokenize_fields`: title, abstract, AI keywords,
authors, each in its own position range) the paper stores:

- its stemmed term and its raw (case-folded, unstemmed) form: `diffus`, `diffusion`;
- the same tagged with the field, for the fields a line can name alone: `t|diffus` in a title,
  `a|lovelac` in an author's name. Untagged forms come from the default fields only (title,
  abstract, keywords), the ones a line without `field:` searches; `abstract:` uses them too;
- for two tokens side by side (the second starts where the first ends), the pair of their terms,
  with the same tags: `diffus>languag`, `t|diffus>languag`, `a|ada>lovelac`. A phrase matches only
  where its words are side by side, so the pre-filter can ask for its pairs, not just its words.
  Pairs with a function word (`of`, `the`…) are not stored, nor asked for: they would double the
  storage for little.

A form longer than MAX_FORM characters is stored cut (a PostgreSQL lexeme holds at most 2046 bytes;
a 5,000-letter "word" must not fail an ingest); the query side cuts the same way, so a cut form
still equals the cut atom and still starts with any prefix. The fingerprint SEARCH_TERMS_VERSION
covers the tokenizer's code, its acronyms, the stemmer, Unicode's tables and these rules: rows
written under another one are stale, and stale rows are never filtered out.
"""

from __future__ import annotations

import hashlib
import unicodedata
from importlib.metadata import version
from pathlib import Path

from django.db.models import Q

from newsletter.matching import PaperRecord
from newsletter.matching import normalize as matching_normalize
from papers.models import Paper
from papers.records import RECORD_FIELDS, paper_record_from_row

MAX_FORM = 200
TITLE_TAG, AUTHOR_TAG = "t|", "a|"
PAIR = ">"
# Tags each field's forms are stored under ("" = the default fields).
FIELD_TAGS = {
    matching_normalize.TITLE: ("", TITLE_TAG),
    matching_normalize.ABSTRACT: ("",),
    matching_normalize.KEYWORDS: ("",),
    matching_normalize.AUTHORS: (AUTHOR_TAG,),
}
FUNCTION_WORDS = (
    "a an and are as at be been both by can for from has have in into is it its not of on or our such "
    "than that the their these this those to via was we were which while with"
)
UNPAIRED = frozenset(matching_normalize.stem(word) for word in FUNCTION_WORDS.split())
FORMAT = "forms 2: terms, raws, title and author tags, pairs"


def _fingerprint() -> str:
    module = Path(matching_normalize.__file__)
    digest = hashlib.sha256()
    digest.update(module.read_bytes())
    digest.update(module.with_name("acronyms.json").read_bytes())
    digest.update(f"PyStemmer {version('PyStemmer')} unicode {unicodedata.unidata_version}".encode())
    digest.update(f"{FORMAT} {MAX_FORM} {sorted(UNPAIRED)}".encode())
    return digest.hexdigest()[:16]


SEARCH_TERMS_VERSION = _fingerprint()


def field_tag(fields: int) -> str:
    """The tag of the forms a leaf restricted to the `fields` mask is looked up under."""
    if fields == matching_normalize.TITLE_MASK:
        return TITLE_TAG
    if fields == matching_normalize.AUTHORS_MASK:
        return AUTHOR_TAG
    return ""  # the default fields, or abstract alone: the untagged forms cover them


def pairable(first: str, second: str) -> bool:
    """Whether the pair of these two terms is stored (never for a prefix or a function word)."""
    return not (first.endswith("*") or second.endswith("*") or first in UNPAIRED or second in UNPAIRED)


def pair_form(tag: str, first: str, second: str) -> str:
    return f"{tag}{first}{PAIR}{second}"


def paper_search_terms(record: PaperRecord) -> list[str]:
    """Every form of `record` described above, cut to MAX_FORM characters, sorted, once each."""
    tokens = matching_normalize.tokenize_fields(
        record.title, record.abstract, record.ai_keywords, record.authors
    )
    starting_at: dict[int, list[matching_normalize.Token]] = {}
    for token in tokens:
        starting_at.setdefault(token.start, []).append(token)
    forms: set[str] = set()
    for token in tokens:
        # Positions of different fields are far apart, so `starting_at` never pairs across fields.
        following = [t.term for t in starting_at.get(token.end, ()) if pairable(token.term, t.term)]
        for tag in FIELD_TAGS[matching_normalize.field_of(token.start)]:
            forms.update((tag + token.term, tag + token.raw))
            forms.update(pair_form(tag, token.term, term) for term in following)
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


def search_terms_stale() -> Q:
    """Papers whose search_terms another tokenizer wrote (or none yet)."""
    # Two ranges rather than `<>`, so PostgreSQL can read the (normally empty) set from the index.
    return Q(search_terms_version__lt=SEARCH_TERMS_VERSION) | Q(search_terms_version__gt=SEARCH_TERMS_VERSION)
