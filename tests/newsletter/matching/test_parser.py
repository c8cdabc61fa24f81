"""Parsing interests: errors that name a position, canonical keys, and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.matching import InterestSyntaxError, canonical_interest, parse_interest


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('gaussian "splatting models', "unclosed quote at 9"),
        ("(diffusion OR audio", "unclosed parenthesis at 0"),
        ("diffusion)", "unexpected ')' at 9"),
        ("video OR", "OR without an item after it at 8"),
        ("OR video", "OR without an item before it at 0"),
        ("video OR OR audio", "OR without an item after it at 9"),
        ("-video", "no item that is not excluded at 0"),
        ("diffusion (-video)", "no item that is not excluded at 10"),
        ("diffusion - video", "nothing after '-' at 11"),
        ("title: video", "nothing after 'title:' at 6"),
        ("-video OR audio", "OR after an exclusion at 7"),
        ("quan*tization", "'*' inside a word at 4"),
        ("video-*", "'*' after punctuation at 6"),
        ("title:author:hopper", "two field prefixes at 6"),
        ("diffusion ()", "empty group at 10"),
        ('diffusion ""', "empty phrase at 10"),
        ("", "empty interest at 0"),
        ("   ", "empty interest at 0"),
    ],
)
def test_syntax_errors_name_what_and_where(text: str, message: str):
    with pytest.raises(InterestSyntaxError) as error:
        parse_interest(text)
    assert str(error.value) == message
    assert 0 <= error.value.position <= len(text)
    assert error.value.expected


def test_punctuation_alone_is_ignored_like_a_space():
    assert canonical_interest("diffusion & audio") == canonical_interest("diffusion audio")


def test_deep_nesting_is_an_error_not_a_crash():
    text = "(" * 500 + "video" + ")" * 500
    with pytest.raises(InterestSyntaxError) as error:
        parse_interest(text)
    assert 0 <= error.value.position < len(text)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("LLMs  agents", "llm agent"),
        ("agents LLMs", "llm agent"),
        ('"large language models" agents', "LLM agent"),
        ("diffusion video OR audio", "(audio OR video) diffusion"),
        ("a (b c)", "c b a"),
        ("video OR (audio OR speech)", "speech OR audio OR video"),
        ("splats -nerf", "-NeRFs splatting"),
        ('"gaussian splatting"', '"Gaussian Splats"'),
        ("Title:Splatting", "title:splat"),
        ("quantiz*", "Quantiz*"),
        ("video video", "video"),
    ],
)
def test_equivalent_interests_share_one_canonical_key(first: str, second: str):
    assert canonical_interest(first) == canonical_interest(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("diffusion video OR audio", "(diffusion video) OR audio"),
        ('"gaussian splatting"', "gaussian splatting"),
        ("title:splatting", "splatting"),
        ("quantiz*", "quantiz"),
        ("splats -nerf", "nerf -splats"),
        ("autoencoder", "auto-encoder"),  # the hyphenated one also matches "auto encoder"
    ],
)
def test_different_interests_keep_different_keys(first: str, second: str):
    assert canonical_interest(first) != canonical_interest(second)


def test_canonical_key_is_readable_and_short():
    assert canonical_interest("LLMs  agents") == "(and agent llm)"
    assert canonical_interest("diffusion video OR audio") == "(and (or audio video) diffus)"
    assert canonical_interest('title:"gaussian splatting" -nerf') == '(and title:"gaussian splat" (not nerf))'
    assert len(canonical_interest("x " * 100)) < 400


# Characters that exercise every branch of the grammar, plus some that exercise normalization.
GRAMMAR_ALPHABET = st.sampled_from(
    [*'()"-*: abOR', "title:", "author:", " OR ", "\u01c5", "\u216b", "\u00a0", "_"]
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=60), st.lists(GRAMMAR_ALPHABET, max_size=30).map("".join)))
def test_arbitrary_text_parses_or_fails_with_a_position_inside_the_text(text: str):
    try:
        query = parse_interest(text)
    except InterestSyntaxError as error:
        assert 0 <= error.position <= len(text)
        assert str(error).endswith(f" at {error.position}")
    else:
        assert query.canonical == canonical_interest(text)
        assert len(query.canonical) > 0
