"""A loopback stand-in for Hugging Face and arXiv, and the pages it serves.

`Upstream` is a real HTTP server (http.server.ThreadingHTTPServer in a thread, random port on
127.0.0.1), scripted per path: each request to a path takes the next scripted `Reply`, the last one
repeating. Replies can be slow (sleep before answering), carry Retry-After, or cut the body short
after announcing the full Content-Length, as a dropped connection would.

The page builders wrap real captures (tests/fixtures/, see PROVENANCE.md there) in the markup the
real sites use, so the parsers see what production sees.
"""

from __future__ import annotations

import contextlib
import html
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
HF_DAY = "2026-05-08"
HF_CAPTURE = FIXTURES / "hf" / f"daily_papers_{HF_DAY}.json"
ARXIV_RSS_CAPTURE = FIXTURES / "arxiv" / "rss_cs.AI_2026-04-27.xml"
ARXIV_LIST_CAPTURE = FIXTURES / "arxiv" / "list_cs_2301_show3.html"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering
    truncate_to: int | None = None  # send only this many bytes of the body, then close


@dataclass
class SeenRequest:
    path: str
    query: str
    headers: dict[str, str]
    at: float  # time.monotonic()


class Upstream:
    def __init__(self) -> None:
        self._scripts: dict[str, list[Reply]] = {}
        self._lock = threading.Lock()
        self.requests: list[SeenRequest] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._server.block_on_close = False  # a slow reply must not hold up the test's teardown
        # A short poll interval keeps shutdown (and so each test's teardown) fast.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, path: str, *replies: Reply) -> None:
        """Answer requests to `path` (without query; a trailing `*` matches a prefix) with `replies`."""
        with self._lock:
            self._scripts[path] = list(replies)

    def requests_to(self, path: str) -> list[SeenRequest]:
        return [request for request in self.requests if request.path == path]

    def next_reply(self, path: str) -> Reply:
        with self._lock:
            replies = self._scripts.get(path) or self._prefix_replies(path)
            if not replies:
                return Reply(status=404, body=b"not scripted: " + path.encode())
            return replies.pop(0) if len(replies) > 1 else replies[0]

    def _prefix_replies(self, path: str) -> list[Reply] | None:
        prefixes = [key for key in self._scripts if key.endswith("*") and path.startswith(key[:-1])]
        return self._scripts[max(prefixes, key=len)] if prefixes else None

    def __enter__(self) -> Upstream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler_for(upstream: Upstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            upstream.requests.append(
                SeenRequest(parts.path, parts.query, dict(self.headers.items()), time.monotonic())
            )
            reply = upstream.next_reply(parts.path)
            if reply.delay:
                time.sleep(reply.delay)
            # The client may have given up (a timeout test): then there is nobody to answer.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._send(reply)

        def _send(self, reply: Reply) -> None:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            if reply.truncate_to is not None:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(reply.body[: reply.truncate_to] if reply.truncate_to is not None else reply.body)
            if reply.truncate_to is not None:
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output readable

    return Handler


# --- Pages built from real captures -------------------------------------------------------------


def hf_entries() -> list[dict[str, Any]]:
    """The real API response for 2026-05-08: 37 entries."""
    return json.loads(HF_CAPTURE.read_bytes())


def hf_api_body(entries: list[dict[str, Any]] | None = None) -> bytes:
    return json.dumps(hf_entries() if entries is None else entries).encode()


def hf_page_html(
    entries: list[dict[str, Any]] | None = None, *, day: str = HF_DAY, blob: bool = True
) -> bytes:
    """A Daily Papers page: the data-props blob around the API's entries, then the paper cards.

    The real page carries both; `blob=False` gives the card-only variant the fallback reads.
    """
    entries = hf_entries() if entries is None else entries
    props = html.escape(json.dumps({"dailyPapers": entries, "date": day}), quote=True)
    hydrater = (
        f'<div class="SVELTE_HYDRATER contents" data-target="DailyPapers" data-props="{props}">'
        if blob
        else ""
    )
    cards = "\n".join(_hf_card(entry) for entry in entries)
    closing = "</div>" if blob else ""
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>Daily Papers - Hugging Face</title></head>'
        f'<body><main>{hydrater}<section class="grid">{cards}</section>{closing}</main></body></html>'
    ).encode()


def _hf_card(entry: dict[str, Any]) -> str:
    """One card in the 2025 `article` markup (thumbnail link, upvote box, h3 title, comments link)."""
    paper = entry["paper"]
    href = f"/papers/{paper['id']}"
    return (
        '<article class="relative flex flex-col overflow-hidden rounded-xl border">'
        f'<a href="{href}" class="shadow-alternate-sm peer relative block h-56">'
        f'<img src="{html.escape(entry["thumbnail"])}" loading="lazy" alt=""></a>'
        '<div class="flex items-center gap-2.5"><div class="shadow-alternate flex h-14 w-12 flex-col">'
        f'<input type="checkbox" class="peer hidden"><div class="leading-none">{paper["upvotes"]}</div></div>'
        f'<div class="w-full"><h3 class="mb-1 text-lg/6 font-semibold"><a href="{href}" class="line-clamp-3">'
        f"{html.escape(paper['title'])}</a></h3>"
        f'<a href="{href}#community" class="flex items-center">{entry["numComments"]}</a></div></div>'
        "</article>"
    )


def arxiv_rss_body() -> bytes:
    return ARXIV_RSS_CAPTURE.read_bytes()


def arxiv_empty_rss_body() -> bytes:
    """The real feed with its items removed: what a weekend (skipDays) serves."""
    text = ARXIV_RSS_CAPTURE.read_text()
    return (text[: text.index("<item>")] + "</channel>\n</rss>").encode()


def arxiv_list_body() -> bytes:
    return ARXIV_LIST_CAPTURE.read_bytes()


def arxiv_new_listing_html() -> bytes:
    """A `/list/<cat>/new` page in the current layout, built from the real listing's three entries.

    Current listings have one `<dl id='articles'>` per section, each opened by an h3: entry 1 is a
    new submission, entry 2 a cross-list (its dt says so), entry 3 a replacement.
    """
    text = ARXIV_LIST_CAPTURE.read_text()
    start = text.index("<dl id='articles'>")
    end = text.index("</dl>", start) + len("</dl>")
    body = text[start + len("<dl id='articles'>") : end - len("</dl>")]
    entries = ["<dt>" + chunk for chunk in body.split("<dt>")[1:]]
    assert len(entries) == 3, "the real listing has three entries"
    cross = entries[1].replace("</dt>", " (cross-list from cs.GR)</dt>", 1)
    replaced = entries[2].replace("</dt>", " (replaced)</dt>", 1)
    sections = (
        "<h3>Showing new listings for Tuesday, 3 January 2023</h3>"
        f"<dl id='articles'><h3>New submissions (showing 1 of 1 entries)</h3>{entries[0]}</dl>"
        f"<dl id='articles'><h3>Cross submissions (showing 1 of 1 entries)</h3>{cross}</dl>"
        f"<dl id='articles'><h3>Replacement submissions (showing 1 of 1 entries)</h3>{replaced}</dl>"
    )
    return (text[:start] + sections + text[end:]).encode()


def arxiv_empty_listing_html() -> bytes:
    """The real listing with its entries replaced by the notice arXiv shows on a day without any."""
    text = ARXIV_LIST_CAPTURE.read_text()
    start = text.index("<dl id='articles'>")
    end = text.index("</dl>", start) + len("</dl>")
    notice = "<h3>Showing new listings for Monday, 2 January 2023</h3><p>No updates today.</p>"
    return (text[:start] + notice + text[end:]).encode()
