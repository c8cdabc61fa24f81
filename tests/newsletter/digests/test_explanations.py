"""Why a paper is in a digest: the matched words, found once per line and paper, found again when the
paper changes."""

from __future__ import annotations

from newsletter.digests.explanations import ItemExplainer, MatchedWords
from papers.models import Paper


def paper(title: str, abstract: str = "") -> Paper:
    return Paper(id=1, arxiv_id="2611.00001", title=title, abstract=abstract, authors=["Ada"], ai_keywords=[])


def test_words_are_each_spelling_once_in_reading_order():
    words = MatchedWords()
    found = words.of(
        "sparse autoencoder*", paper("Sparse autoencoders", "sparse AUTOENCODERS and sparse coding")
    )
    assert found == ("Sparse", "autoencoders")


def test_a_changed_paper_is_explained_again():
    words = MatchedWords()
    assert words.of("agents", paper("LLM agents")) == ("agents",)
    assert words.of("agents", paper("Agents that plan")) == ("Agents",)  # same id, new title


def test_the_words_kept_are_bounded():
    words = MatchedWords(limit=2)
    for line in ("agents", "llm", "plan"):
        words.of(line, paper("LLM agents that plan"))
    assert len(words._kept) == 2


def test_an_explanation_names_every_line_and_its_words():
    explainer = ItemExplainer()
    item = paper("LLM agents that plan", "with sparse autoencoders")
    why = explainer.explain(interests=["LLM agents", "sparse autoencoders", "robots"], paper=item)
    assert why.text == (
        "Matched “LLM agents”: *LLM*, *agents* · also “sparse autoencoders”: *sparse*, *autoencoders* "
        "· also “robots”"
    )
    under_heading = explainer.explain(interests=["LLM agents"], paper=item, heading="LLM agents")
    assert under_heading.text == "Matched: *LLM*, *agents*"
    assert str(under_heading.html).count("<mark") == 2
