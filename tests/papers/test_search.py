"""The search box finds exactly what the matching engine would pick, on this database (run the suite on
PostgreSQL and on SQLite: the pre-filter differs, the results must not)."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.matching import InterestSyntaxError, PaperRecord, match_papers, parse_interest
from papers import search
from papers.models import Paper
from papers.search import paper_search
from tests.papers.search_data import TODAY, expected_records, load_search_papers

LINES = [
    "diffusion",
    '"diffusion language"',
    "diffusion -video",
    "LLM",
    "LLMs",
    "RL",
    '"reinforcement learning"',
    '"large language model"',
    "agent*",
    "quantiz*",
    "self-supervised",
    '"self supervised"',
    "vision-language",
    "title:benchmark",
    'abstract:"language model"',
    'author:"Zoë Müller"',
    "author:García",
    "reasoning OR planning",
    "(video OR image) generation -diffusion",
    "-video (agent OR agents) tool*",
    "naïve",
    "naive",
    "Pokémon",
    "café",
    "3D",
    "GPT-4",
    "U.S.",
    "model",
    "zebra",
]


@pytest.fixture(scope="module")
def records(django_db_setup, django_db_blocker) -> list[PaperRecord]:
    with django_db_blocker.unblock():
        load_search_papers()
        yield expected_records()
        Paper.objects.all().delete()


def pairs(matches) -> list[tuple[int, float]]:
    return [(match.paper_id, match.score) for match in matches]


def titles(matches) -> set[str]:
    by_id = Paper.objects.in_bulk([match.paper_id for match in matches])
    return {by_id[match.paper_id].title for match in matches}


@pytest.mark.django_db
@pytest.mark.parametrize("line", LINES)
def test_search_gives_exactly_the_engines_papers_in_its_order(records, line):
    expected = match_papers([line], records, today=TODAY)

    result = paper_search(line=line, today=TODAY)

    assert pairs(result.matches) == pairs(expected)
    assert [m.terms for m in result.matches] == [m.terms for m in expected]
    assert result.total == len(expected)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "line", ["diffusion", '"diffusion language"', "RL", "agent*", "author:García", "zebra"]
)
def test_the_prefilter_reads_fewer_papers_than_the_table(records, line):
    candidates = paper_search(line=line, today=TODAY).candidates

    assert candidates < len(records) / 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("narrow", "wide"),
    [
        ('"diffusion language"', "diffusion language"),  # side by side, not anywhere
        ('"large language model"', "large language model"),
        ("title:benchmark", "benchmark"),  # in the title, not anywhere
    ],
)
def test_phrases_and_fields_narrow_the_prefilter_too(records, narrow, wide):
    narrowed = paper_search(line=narrow, today=TODAY)

    assert narrowed.candidates < paper_search(line=wide, today=TODAY).candidates
    assert narrowed.candidates <= 2 * narrowed.total + 5


@pytest.mark.django_db
@pytest.mark.parametrize("line", LINES)
def test_the_first_results_are_the_engines_first_whatever_the_limit(records, monkeypatch, line):
    monkeypatch.setattr(search, "FIRST_CHUNK", 4)  # small rounds, so searches stop early here too
    expected = match_papers([line], records, today=TODAY)

    for limit in (1, 3, 10, 31):
        result = paper_search(line=line, today=TODAY, limit=limit)
        assert pairs(result.matches) == pairs(expected[:limit]), limit
        assert result.total in (None, len(expected)), limit


@pytest.mark.django_db
def test_a_common_word_stops_early_once_nothing_unread_can_rank_higher(records, monkeypatch):
    monkeypatch.setattr(search, "FIRST_CHUNK", 4)

    result = paper_search(line="model", today=TODAY, limit=3)

    assert result.total is None
    assert pairs(result.matches) == pairs(match_papers(["model"], records, today=TODAY)[:3])


@pytest.mark.django_db
def test_rl_finds_reinforcement_learning_not_world_or_control(records):
    found = titles(paper_search(line="RL", today=TODAY).matches)
    # Papers saying "world" or "control" with no RL in sight (the old substring search hit them).
    world_or_control = {
        paper.title
        for paper in Paper.objects.all()
        if re.search(r"world|control", paper.abstract, re.IGNORECASE)
        and not re.search(
            r"RL|reinforc", f"{paper.title} {paper.abstract} {paper.ai_keywords}", re.IGNORECASE
        )
    }

    assert len(world_or_control) > 20
    assert not found & world_or_control
    for paper in Paper.objects.filter(title__in=found):
        text = f"{paper.title} {paper.abstract} {' '.join(paper.ai_keywords)}"
        # RL alone (`long_form_rl` too: `_` separates words), or the expansion, stemmed ("reinforce learning").
        assert re.search(r"(?<![a-z0-9])RLs?(?![a-z0-9])|reinforc\w*[ -]learn", text, re.IGNORECASE), (
            paper.title
        )


@pytest.mark.django_db
def test_a_quoted_phrase_needs_its_words_side_by_side(records):
    found = titles(paper_search(line='"diffusion language"', today=TODAY).matches)

    assert "Continuous Latent Diffusion Language Model" in found
    for paper in Paper.objects.filter(title__in=found):
        assert re.search(
            r"diffusion[ -]language", f"{paper.title} {paper.abstract} {paper.ai_keywords}", re.I
        )


@pytest.mark.django_db
def test_an_exclusion_drops_papers_with_the_word(records):
    found = paper_search(line="diffusion -video", today=TODAY).matches
    with_video = paper_search(line="diffusion video", today=TODAY).matches

    assert found and with_video
    assert not {m.paper_id for m in found} & {m.paper_id for m in with_video}


@pytest.mark.django_db
def test_an_accent_typed_decomposed_finds_the_composed_word(records):
    decomposed = unicodedata.normalize("NFD", "Naïve")

    found = titles(paper_search(line=decomposed, today=TODAY).matches)

    assert found == {"Naïve Bayes for café reviews"}


@pytest.mark.django_db
def test_a_bad_line_raises_the_parsers_positioned_error(records):
    with pytest.raises(InterestSyntaxError) as raised:
        paper_search(line='diffusion "language', today=TODAY)

    assert raised.value.message == "unclosed quote"
    assert raised.value.position == 10


# --- Lines made up from the corpus's own words -------------------------------------------------

WORDS = [
    "model",
    "diffusion",
    "video",
    "agent",
    "language",
    "RL",
    "LLM",
    "learning",
    "3D",
    "reason",
    "vision",
]
word = st.sampled_from(WORDS)
item = st.one_of(
    word,
    word.map(lambda w: f"{w[:4]}*"),
    st.lists(word, min_size=2, max_size=2).map(lambda ws: f'"{" ".join(ws)}"'),
    st.tuples(st.sampled_from(["title", "abstract", "author"]), word).map(lambda fw: f"{fw[0]}:{fw[1]}"),
    st.lists(word, min_size=2, max_size=3).map(" OR ".join),
)
line_strategy = st.tuples(st.lists(item, min_size=1, max_size=3), st.lists(word, max_size=1)).map(
    lambda parts: " ".join(parts[0] + [f"-{w}" for w in parts[1]])
)


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=line_strategy)
def test_any_line_of_corpus_words_gives_the_engines_papers(records, line):
    try:
        parse_interest(line)
    except InterestSyntaxError:
        return  # e.g. every item excluded: nothing to compare

    assert pairs(paper_search(line=line, today=TODAY).matches) == pairs(
        match_papers([line], records, today=TODAY)
    )
