"""The papers pages in a real Chromium: a phone-sized 37-paper day, thumbnails that fail to load, the
period tabs and the search box, all without a Content-Security-Policy violation."""

from __future__ import annotations

import pytest

from papers.models import Paper
from papers.services import papers_ingest, papers_refresh_search_terms
from papers.sources.hf_api import parse_daily_papers
from tests.browser import chromium_page
from tests.conftest import FIXTURES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Collects CSP violations from the first byte of every page (an init script runs before the page's own).
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__csp.push(event.violatedDirective + " " + event.blockedURI);
});
"""
PHONE = {"width": 375, "height": 812}
MAX_PHONE_CARD_HEIGHT = 400  # px: title, authors, three lines of summary and the links


@pytest.fixture
def captured_day(live_server) -> str:
    """The real 37-paper day, with every thumbnail pointing at an image that does not exist."""
    body = (FIXTURES / "hf" / "daily_papers_2026-05-08.json").read_bytes()
    papers_ingest(records=parse_daily_papers(body, url="fixture"), source="hf-api")
    papers_refresh_search_terms()
    Paper.objects.update(thumbnail=f"{live_server.url}/static/no-such-thumbnail.png")
    return f"{live_server.url}/papers/"


def open_page(page, url: str, console: list[str]) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__csp") == [], url
    assert not [m for m in console if "Content Security Policy" in m], console


def watch(page) -> list[str]:
    console: list[str] = []
    page.add_init_script(WATCH_CSP)
    page.on("console", lambda message: console.append(message.text))
    return console


def test_a_37_paper_day_stays_compact_on_a_phone(captured_day):
    with chromium_page() as page:
        console = watch(page)
        page.set_viewport_size(PHONE)
        open_page(page, captured_day, console)

        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        heights = page.eval_on_selector_all(
            ".paper-card", "cards => cards.map(c => c.getBoundingClientRect().height)"
        )
        assert len(heights) == 37
        assert max(heights) <= MAX_PHONE_CARD_HEIGHT, max(heights)
        # Thumbnails are left to the paper page on phones: hidden, so not even downloaded.
        assert (
            page.eval_on_selector_all(".paper-card .paper-thumb", "t => t.filter(e => e.offsetParent).length")
            == 0
        )


def test_a_thumbnail_that_fails_to_load_keeps_its_box(captured_day):
    with chromium_page() as page:
        console = watch(page)
        page.set_viewport_size({"width": 1280, "height": 900})
        open_page(page, captured_day, console)
        first = page.locator(".paper-thumb").first
        first.scroll_into_view_if_needed()
        page.wait_for_function(
            "() => { const i = document.querySelector('.paper-thumb img'); return i.complete; }"
        )

        box = first.bounding_box()
        image = page.evaluate(
            "(() => { const i = document.querySelector('.paper-thumb img'); return [i.naturalWidth, i.getBoundingClientRect().height]; })()"
        )
        assert image[0] == 0  # it did fail
        assert box["width"] == pytest.approx(192, abs=1)  # 12rem
        assert box["height"] == pytest.approx(box["width"] * 9 / 16, abs=1.5)
        assert image[1] == pytest.approx(box["height"] - 2, abs=1.5)  # the image fills it, inside the border
        background = page.evaluate("getComputedStyle(document.querySelector('.paper-thumb')).backgroundColor")
        assert background not in ("rgba(0, 0, 0, 0)", "transparent")


def test_period_tabs_navigation_and_search_in_a_real_browser(captured_day):
    with chromium_page() as page:
        console = watch(page)
        open_page(page, captured_day, console)

        page.get_by_role("link", name="Week", exact=True).click()
        page.wait_for_url("**/papers/week/2026-W19/")
        assert page.locator("h1").inner_text().startswith("Trending papers\nWeek 19 of 2026")
        assert page.locator(".paper-title").count() == 37

        page.get_by_role("link", name="Month", exact=True).click()
        page.wait_for_url("**/papers/month/2026-05/")
        page.get_by_role("link", name="Day", exact=True).click()
        page.wait_for_url("**/papers/?date=2026-05-08")

        page.get_by_label("Search papers").fill('"diffusion language')
        page.keyboard.press("Enter")
        page.wait_for_url("**/papers/?q=%22diffusion+language")
        assert page.locator("h1").inner_text() == "That search does not parse"
        assert page.locator(".papers-syntax-at").inner_text() == '"'

        page.get_by_label("Search papers").fill('"diffusion language"')
        page.keyboard.press("Enter")
        page.wait_for_url("**/papers/?q=%22diffusion+language%22")
        assert page.locator(".paper-title").all_inner_texts() == [
            "Continuous Latent Diffusion Language Model"
        ]
        page.get_by_role("link", name="Get these by email").click()
        page.wait_for_url("**/?interests=%22diffusion+language%22")

        for path in ("papers/month/2026-05/", "papers/2605.05242/", "papers/feed/"):
            open_page(page, f"{captured_day.removesuffix('papers/')}{path}", console)


def test_an_author_link_opens_their_page(captured_day):
    paper = Paper.objects.order_by("-upvotes").first()
    author = paper.authors[0]
    with chromium_page() as page:
        console = watch(page)
        open_page(page, captured_day, console)
        page.locator(".paper-authors").first.get_by_role("link", name=author).click()
        page.wait_for_url("**/papers/authors/**")

        assert page.locator(".papers-author").inner_text() == author
        assert paper.title in page.locator(".paper-title").all_inner_texts()
        assert page.evaluate("window.__csp") == []


def test_a_paper_page_shows_similar_papers_and_its_like_link_fills_in_the_signup_form(captured_day):
    from papers.embeddings.store import papers_embed_stale

    papers_embed_stale()
    paper = Paper.objects.get(arxiv_id="2605.05242")
    with chromium_page() as page:
        console = watch(page)
        open_page(page, f"{captured_day}{paper.arxiv_id}/", console)

        similar = page.locator(".paper-similar-list a")
        assert similar.count() >= 1
        assert paper.title not in similar.all_inner_texts()
        page.get_by_role("link", name="Get papers like this by email").click()
        page.wait_for_url(f"**/?interests=like%3A{paper.arxiv_id}")
        assert page.locator("#id_interests").input_value() == f"like:{paper.arxiv_id}"
        assert page.evaluate("window.__csp") == []
