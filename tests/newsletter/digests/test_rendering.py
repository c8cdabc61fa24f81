from __future__ import annotations

import re

from bs4 import BeautifulSoup

from newsletter.digests.rendering import (
    DigestRenderer,
    DigestView,
    ItemView,
    date_label,
    group_items,
    interest_label,
    short_date,
    snippet,
    subject_topic,
)
from newsletter.matching import explain_match
from newsletter.models import Subscriber
from newsletter.subscriptions import tokens
from papers.models import Paper
from papers.records import paper_record_from_paper


def paper(number: int = 1, **fields) -> Paper:
    defaults = {
        "id": number,
        "arxiv_id": f"2611.{number:05d}",
        "title": "Video Diffusion   Models at Scale",
        "abstract": "We study video diffusion. " * 40,
        "authors": ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov"],
        "upvotes": 42,
        "github_repo": "https://github.com/example/video-diffusion",
    }
    return Paper(**{**defaults, **fields})


def view(*papers: Paper, digest_id: int | None = 7, frequency: str = "daily") -> DigestView:
    return view_of([ItemView(paper=p, interests=["video diffusion"]) for p in papers], digest_id, frequency)


def view_of(items: list[ItemView], digest_id: int | None = 7, frequency: str = "daily") -> DigestView:
    subscriber = Subscriber(id=3, email="reader@example.com", frequency=frequency)
    return DigestView(
        subscriber=subscriber,
        edition="2026-11-21" if frequency == "daily" else "2026-W47",
        frequency=frequency,
        digest_id=digest_id,
        items=items,
    )


def picked(number: int, title: str, *interests: str, abstract: str = "") -> ItemView:
    return ItemView(paper=paper(number, title=title, abstract=abstract or title), interests=list(interests))


def test_snippet_cuts_at_a_word_within_300_characters():
    text = "word " * 100
    cut = snippet(text)
    assert len(cut) <= 301
    assert cut.endswith("word…")
    assert snippet("short  text\n here") == "short text here"


def test_date_label_reads_like_a_date_or_a_week():
    assert date_label(edition="2026-11-21") == "Saturday 21 November 2026"
    assert date_label(edition="2026-W47") == "week 47, 2026"


def test_html_has_every_link_header_and_paper_detail():
    rendered = DigestRenderer().render(
        view(paper(1), paper(2, title="Second paper", ai_summary="An AI summary."))
    )
    soup = BeautifulSoup(rendered.html, "lxml")
    hrefs = [a["href"] for a in soup.find_all("a")]

    for number in (1, 2):
        assert f"https://huggingface.co/papers/2611.{number:05d}" in hrefs
        assert f"https://arxiv.org/abs/2611.{number:05d}" in hrefs
        assert f"https://arxiv.org/pdf/2611.{number:05d}" in hrefs
    assert hrefs.count("https://github.com/example/video-diffusion") == 2
    assert any(href.startswith("http://testserver/preferences/") for href in hrefs)
    assert any(href.startswith("http://testserver/unsubscribe/") for href in hrefs)
    view_links = [href for href in hrefs if href.startswith("http://testserver/digests/")]
    assert len(view_links) == 1
    token = view_links[0].split("/")[-2]
    assert tokens.read_token(token, tokens.Purpose.VIEW_DIGEST).extra == {"d": 7}

    assert "2 new papers matching your interests" in soup.h1.text
    assert "Saturday 21 November 2026" in soup.text
    assert "Ada Lovelace, Alan Turing, Grace Hopper … +2" in soup.text
    assert "▲ 42" in soup.text
    assert "An AI summary." in soup.text  # the AI summary wins over the abstract
    # Every word of the paper the line matched, in each paper (found when the digest is rendered).
    assert [mark.text for mark in soup.find_all("mark")] == ["Video", "Diffusion", "video", "diffusion"]
    assert "Unsubscribe" in [a.text for a in soup.find_all("a")]


def test_html_is_styled_inline_for_gmail_and_outlook_with_dark_mode():
    html = DigestRenderer().render(view(paper(1))).html
    soup = BeautifulSoup(html, "lxml")
    assert soup.find("meta", attrs={"name": "color-scheme"})["content"] == "light dark"
    assert "prefers-color-scheme: dark" in soup.style.text
    assert all(table.get("role") == "presentation" for table in soup.find_all("table"))
    # Every visible text block and link carries its own style: nothing depends on <style>.
    assert all(tag.get("style") for tag in soup.find_all(["p", "a", "h1"]))
    assert soup.find("meta", attrs={"name": "viewport"})


def test_text_version_has_the_same_papers_and_links():
    text = DigestRenderer().render(view(paper(1, title="A & B <model>"))).text
    assert "1. A & B <model>" in text  # plain text is not HTML-escaped
    assert "https://huggingface.co/papers/2611.00001" in text
    assert "arXiv: https://arxiv.org/abs/2611.00001  PDF: https://arxiv.org/pdf/2611.00001" in text
    assert "Code: https://github.com/example/video-diffusion" in text
    assert "Matched “video diffusion”: *video*, *diffusion*" in text
    assert "Unsubscribe: http://testserver/unsubscribe/" in text


def test_titles_are_escaped_in_html():
    html = DigestRenderer().render(view(paper(1, title="<script>alert(1)</script>"))).html
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_headers_offer_one_click_unsubscribe_and_custom_args_carry_the_digest_id():
    rendered = DigestRenderer().render(view(paper(1)))
    # The one-click URL only: nothing would read mail sent to a mailto: address.
    assert re.fullmatch(r"<http://testserver/unsubscribe/[^>]+/>", rendered.headers["List-Unsubscribe"])
    assert rendered.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert rendered.custom_args == {"digest_id": "7", "subscriber_id": "3", "edition": "2026-11-21"}
    assert rendered.categories == ["digest", "digest-daily"]


def test_preview_without_a_saved_digest_has_no_view_in_browser_link():
    rendered = DigestRenderer().render(view(paper(1), digest_id=None))
    assert "View in browser" not in rendered.html
    assert "digest_id" not in rendered.custom_args


def test_message_is_ready_for_the_backend():
    message = DigestRenderer().message(view(paper(1), frequency="weekly"))
    assert message.to == ["reader@example.com"]
    assert message.alternatives[0][1] == "text/html"
    assert message.sendgrid_categories == ["digest", "digest-weekly"]
    assert message.subject == "Paperbox · Video Diffusion Models at Scale · week of 16 Nov"


# --- The subject ------------------------------------------------------------------------------


def test_subject_names_the_interests_that_picked_the_most_papers():
    items = [
        picked(1, "Scaling sparse autoencoders", "sparse autoencoders"),
        picked(2, "Agents that plan", "LLM agents"),
        picked(3, "Agents with sparse autoencoders", "LLM agents", "sparse autoencoders"),
        picked(4, "Sparse autoencoders everywhere", "sparse autoencoders"),
        picked(5, "Video diffusion", "video diffusion"),
    ]
    rendered = DigestRenderer().render(view_of(items, frequency="daily"))
    assert rendered.subject == "Paperbox · 5 papers on sparse autoencoders, LLM agents and more · 21 Nov"


def test_subject_breaks_a_tie_by_the_better_paper_and_says_more_only_when_there_is_more():
    items = [
        picked(1, "Agents that plan", "LLM agents"),
        picked(2, "Scaling sparse autoencoders", "sparse autoencoders"),
    ]
    assert subject_topic(items) == "2 papers on LLM agents, sparse autoencoders"
    assert subject_topic(items[::-1]) == "2 papers on sparse autoencoders, LLM agents"


def test_subject_of_one_paper_is_its_shortened_title():
    title = "A Very Long Title About Sparse Autoencoders That Goes On And On Past Any Phone's Width"
    rendered = DigestRenderer().render(view_of([picked(1, title, "sparse autoencoders")]))
    assert rendered.subject == "Paperbox · A Very Long Title About Sparse Autoencoders That Goes On… · 21 Nov"


def test_weekly_subject_names_the_week_by_its_monday():
    rendered = DigestRenderer().render(view(paper(1), paper(2), frequency="weekly"))
    assert rendered.subject == "Paperbox · 2 papers on video diffusion · week of 16 Nov"
    assert short_date(edition="2026-W01") == "week of 29 Dec"  # ISO week 1 of 2026 starts in 2025


def test_subject_is_plain_text_and_one_line():
    items = [picked(1, "A & B <model>\nnext line", "A & B <x>")]
    assert DigestRenderer().render(view_of(items)).subject == "Paperbox · A & B <model> next line · 21 Nov"
    items.append(picked(2, "Other", "A & B <x>"))
    assert DigestRenderer().render(view_of(items)).subject == "Paperbox · 2 papers on A & B <x> · 21 Nov"


def test_interest_label_drops_the_languages_syntax_and_cuts_at_a_word():
    assert interest_label('title:"sparse autoencoder*" -survey') == "sparse autoencoder"
    assert interest_label("diffusion -video -(image OR audio)") == "diffusion"
    assert interest_label("(agents OR robots) author:Levine") == "agents or robots Levine"
    assert interest_label("self-supervised speech") == "self-supervised speech"
    assert interest_label("reinforcement learning from human feedback") == "reinforcement learning from…"


# --- Groups and explanations --------------------------------------------------------------------


def test_papers_are_grouped_under_their_first_line_in_the_order_of_each_groups_best_paper():
    items = [
        picked(1, "LLM agents one", "LLM agents"),
        picked(2, "Sparse autoencoders for LLM agents", "sparse autoencoders", "LLM agents"),
        picked(3, "LLM agents two", "LLM agents"),
        picked(4, "Sparse autoencoders two", "sparse autoencoders"),
    ]
    groups = group_items(items)
    assert [(g.interest, [i.paper.id for i in g.items]) for g in groups] == [
        ("LLM agents", [1, 3]),
        ("sparse autoencoders", [2, 4]),
    ]

    rendered = DigestRenderer().render(view_of(items))
    soup = BeautifulSoup(rendered.html, "lxml")
    assert [h2.text for h2 in soup.find_all("h2")] == ["LLM agents", "sparse autoencoders"]
    titles = [a.text for a in soup.find_all("a") if a["href"].startswith("https://huggingface.co/")]
    assert titles == [
        "LLM agents one",
        "LLM agents two",
        "Sparse autoencoders for LLM agents",
        "Sparse autoencoders two",
    ]
    text = rendered.text
    assert text.index("== LLM agents ==") < text.index("1. LLM agents one") < text.index("2. LLM agents two")
    assert text.index("2. LLM agents two") < text.index("== sparse autoencoders ==") < text.index("3. Sparse")
    # Under a heading the line is not repeated; another line that picked the paper is named.
    assert "Matched: *Sparse*, *autoencoders* · also “LLM agents”: *LLM*, *agents*" in text
    assert "4. Sparse autoencoders two" in text


def test_a_digest_from_one_line_has_no_group_heading():
    rendered = DigestRenderer().render(view(paper(1), paper(2)))
    assert BeautifulSoup(rendered.html, "lxml").find("h2") is None
    assert "==" not in rendered.text


def test_every_matched_word_is_highlighted_in_html_and_text():
    title = "Sparse Autoencoders Find Features in Large Language Model Agents"
    abstract = "We train SAEs on LLM agents, and study self-supervised diffusion."
    item = picked(1, title, "LLM agents", "sparse autoencoder*", "self-supervised", abstract=abstract)
    words = {}
    for line in item.interests:
        for word in explain_match([line], paper_record_from_paper(item.paper)):
            words.setdefault(word.casefold(), word)
    assert len(words) >= 8  # LLM, agents, Large, Language, Model, Sparse, Autoencoders, self-supervised

    rendered = DigestRenderer().render(view_of([item]))
    marks = [mark.text for mark in BeautifulSoup(rendered.html, "lxml").find_all("mark")]
    assert sorted(marks) == sorted(words.values())
    [why] = [line.strip() for line in rendered.text.splitlines() if line.strip().startswith("Matched")]
    assert why.startswith("Matched “LLM agents”: ")
    without_lines = re.sub(r"“[^”]*”", "", why)  # a line may hold a star of its own (a prefix)
    assert sorted(re.findall(r"\*([^*]+)\*", without_lines)) == sorted(words.values())
    assert "also “sparse autoencoder*”: *Sparse*, *Autoencoders*" in why


def test_an_explanation_escapes_the_line_and_the_words_in_html_only():
    item = picked(1, "R&D agents <tools>", "R&D agents <tools>")
    rendered = DigestRenderer().render(view_of([item]))
    assert "“R&amp;D agents &lt;tools&gt;”" in rendered.html and "<tools>" not in rendered.html
    assert "Matched “R&D agents <tools>”: *R*, *D*, *agents*, *tools*" in rendered.text
