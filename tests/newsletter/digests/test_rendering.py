from __future__ import annotations

import re

from bs4 import BeautifulSoup

from newsletter.digests.rendering import (
    DigestRenderer,
    DigestView,
    ItemView,
    date_label,
    highlight,
    snippet,
)
from newsletter.models import Subscriber
from newsletter.subscriptions import tokens
from papers.models import Paper


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
    subscriber = Subscriber(id=3, email="reader@example.com", frequency=frequency)
    return DigestView(
        subscriber=subscriber,
        edition="2026-11-21" if frequency == "daily" else "2026-W47",
        frequency=frequency,
        digest_id=digest_id,
        items=[ItemView(paper=p, interests=["video diffusion"]) for p in papers],
    )


def test_snippet_cuts_at_a_word_within_300_characters():
    text = "word " * 100
    cut = snippet(text)
    assert len(cut) <= 301
    assert cut.endswith("word…")
    assert snippet("short  text\n here") == "short text here"


def test_date_label_reads_like_a_date_or_a_week():
    assert date_label(edition="2026-11-21") == "Saturday 21 November 2026"
    assert date_label(edition="2026-W47") == "week 47, 2026"


def test_highlight_marks_matched_words_and_escapes_the_rest():
    html, text = highlight(interests=["<b>video</b> diffusion models"], terms=["Diffusion", "models"])
    assert "&lt;b&gt;video&lt;/b&gt;" in html
    assert re.search(r"<mark[^>]*>diffusion</mark> <mark[^>]*>models</mark>", html)
    assert text == "“<b>video</b> *diffusion* *models*”"


def test_highlight_counts_a_shared_stem_as_a_match():
    html, _ = highlight(interests=["agents"], terms=["agent"])
    assert "<mark" in html


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
    # Every word of the line the paper matched, in each paper (found when the digest is rendered).
    assert [mark.text for mark in soup.find_all("mark")] == ["video", "diffusion"] * 2
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
    assert "Matched: “*video* *diffusion*”" in text
    assert "Unsubscribe: http://testserver/unsubscribe/" in text


def test_titles_are_escaped_in_html():
    html = DigestRenderer().render(view(paper(1, title="<script>alert(1)</script>"))).html
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_subject_is_one_line_with_count_and_first_title():
    rendered = DigestRenderer().render(view(paper(1), paper(2)))
    assert (
        rendered.subject
        == "2 new papers for you: Video Diffusion Models at Scale (Saturday 21 November 2026)"
    )


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
    assert "week 47, 2026" in message.subject
