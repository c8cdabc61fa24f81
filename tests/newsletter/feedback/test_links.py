from __future__ import annotations

import re

from bs4 import BeautifulSoup

from newsletter.digests.rendering import DigestRenderer, digest_view_url
from newsletter.subscriptions import tokens
from tests.newsletter.digests.test_rendering import paper, view
from tests.newsletter.feedback.digests import local, planned_digest


def token_of(url: str) -> dict:
    match = re.fullmatch(r"http://testserver/rate/([^/]+)/(more|less)/", url)
    assert match, url
    return tokens.read_token(match.group(1), tokens.Purpose.RATE).extra


def test_every_paper_of_the_html_email_has_more_and_less_links_naming_it():
    html = DigestRenderer().render(view(paper(1), paper(2, title="Second paper"))).html
    soup = BeautifulSoup(html, "lxml")

    more = [a["href"] for a in soup.find_all("a", string="More like this")]
    less = [a["href"] for a in soup.find_all("a", string="Less like this")]

    assert [token_of(url) for url in more] == [{"d": 7, "p": 1}, {"d": 7, "p": 2}]
    assert [token_of(url) for url in less] == [{"d": 7, "p": 1}, {"d": 7, "p": 2}]
    assert all(url.endswith("/more/") for url in more) and all(url.endswith("/less/") for url in less)
    # One token per paper: the two links of a paper differ only by their last word.
    assert [url.removesuffix("more/") for url in more] == [url.removesuffix("less/") for url in less]
    assert all(a.get("style") for a in soup.find_all("a", string=["More like this", "Less like this"]))


def test_the_text_email_has_the_links_on_their_own_lines_under_each_paper():
    text = DigestRenderer().render(view(paper(1), paper(2, title="Second paper"))).text

    more = re.findall(r"^   More like this: (\S+)$", text, flags=re.MULTILINE)
    less = re.findall(r"^   Less like this: (\S+)$", text, flags=re.MULTILINE)

    assert [token_of(url) for url in more] == [{"d": 7, "p": 1}, {"d": 7, "p": 2}]
    assert [token_of(url) for url in less] == [{"d": 7, "p": 1}, {"d": 7, "p": 2}]
    assert text.index("Second paper") > text.index(more[0])  # each pair comes with its paper


def test_a_preview_that_is_no_digest_has_no_rating_links():
    rendered = DigestRenderer().render(view(paper(1), digest_id=None))
    assert "like this" not in rendered.html and "like this" not in rendered.text


def test_the_web_view_of_a_digest_has_the_links_of_each_paper(client, db):
    digest = planned_digest()
    path = local(digest_view_url(subscriber=digest.subscriber, digest_id=digest.id))

    soup = BeautifulSoup(client.get(path).content, "lxml")

    rated = [token_of(a["href"])["p"] for a in soup.find_all("a", string="More like this")]
    assert rated == list(digest.items.order_by("rank").values_list("paper_id", flat=True))
    assert len(soup.find_all("a", string="Less like this")) == len(rated)
