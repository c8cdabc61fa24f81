"""The three kinds of interest line: keywords, `~ description`, `like:ARXIV_ID`."""

from __future__ import annotations

from functools import partial

import pytest

from newsletter.matching import InterestSyntaxError, Source, canonical_interest, line_kind
from newsletter.matching import parse_line as parse_any_id
from papers.sources.records import normalize_arxiv_id

parse_line = partial(parse_any_id, normalize_id=normalize_arxiv_id)


def test_each_kind_is_told_by_how_the_line_starts():
    assert line_kind("sparse autoencoder") == Source.KEYWORD
    assert line_kind("  ~ editing 3D scenes") == Source.MEANING
    assert line_kind("LIKE:2401.12345") == Source.EXAMPLE
    assert line_kind("unlike: this") == Source.KEYWORD
    assert line_kind("title:agents") == Source.KEYWORD


def test_a_description_keeps_its_words_and_dedups_by_case_and_spacing():
    line = parse_line("~  Editing 3D scenes   from a single edited view ")
    assert line.kind == Source.MEANING
    assert line.description == "Editing 3D scenes from a single edited view"
    assert line.canonical == "~ editing 3d scenes from a single edited view"
    assert parse_line("~editing 3d SCENES from a single edited view").canonical == line.canonical


def test_an_example_is_an_arxiv_id_in_any_usual_spelling():
    for typed in ("like:2401.12345", "like: arXiv:2401.12345v3", "Like:https://arxiv.org/abs/2401.12345"):
        line = parse_line(typed)
        assert (line.kind, line.arxiv_id, line.canonical) == (Source.EXAMPLE, "2401.12345", "like:2401.12345")
    assert parse_line("like:hep-th/9901001").arxiv_id == "hep-th/9901001"


def test_without_a_normaliser_any_id_is_an_example_reference():
    assert parse_any_id("like: seed-0053").canonical == "like:seed-0053"


def test_keyword_lines_keep_their_canonical_form():
    assert parse_line("LLMs  agents").canonical == canonical_interest("LLMs agents")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("~", "a description is needed after “~”"),
        ("~   ", "a description is needed after “~”"),
        ("like:", "an arXiv id is needed after “like:”"),
        ("like:attention is all you need", "“attention is all you need” is not an arXiv id"),
        ("like:2401.123", "“2401.123” is not an arXiv id"),
    ],
)
def test_bad_lines_say_what_is_wrong(typed, message):
    with pytest.raises(InterestSyntaxError) as error:
        parse_line(typed)
    assert message in str(error.value)
