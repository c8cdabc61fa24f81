"""Playwright helpers for the real-browser tests: a headless Debian Chromium, and the outbox reader."""

from __future__ import annotations

import email
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from pathlib import Path

import pytest
from django.db import connections

CHROMIUM = Path(os.environ.get("PAPERBOX_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def require_chromium() -> None:
    """Fail loudly when Chromium is missing: in CI a skipped browser test would hide a broken page."""
    if CHROMIUM.exists():
        return
    if os.environ.get("PAPERBOX_SKIP_BROWSER") == "1":
        pytest.skip(f"Chromium not found at {CHROMIUM} and PAPERBOX_SKIP_BROWSER=1")
    pytest.fail(
        f"Chromium not found at {CHROMIUM}. Install it (apt-get install chromium), point PAPERBOX_CHROMIUM "
        "at it, or set PAPERBOX_SKIP_BROWSER=1 to skip browser tests on this machine."
    )


@contextmanager
def chromium_page(*, time_zone: str = "UTC", locale: str = "en-US") -> Iterator:
    """A fresh page in a fresh headless Chromium, closed afterwards."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(timezone_id=time_zone, locale=locale)
            page = context.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()
            # Playwright's sync API runs the test body inside its own greenlet, whose context
            # variables give Django a separate database connection; close it, or it would keep
            # the test database open and stop pytest-django from dropping it.
            connections.close_all()


def outbox_messages(outbox_dir: Path) -> list[email.message.EmailMessage]:
    """The .eml files the OutboxBackend wrote, oldest first."""
    return [
        email.message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted(outbox_dir.glob("*.eml"))
    ]


def link_from_outbox(outbox_dir: Path, path_prefix: str, *, to: str) -> str:
    """The newest link to `path_prefix` in the plain-text body of a message sent to `to`."""
    for message in reversed(outbox_messages(outbox_dir)):
        if message["To"] != to:
            continue
        body = message.get_body(("plain",)).get_content()
        match = re.search(rf"https?://\S+?{re.escape(path_prefix)}\S+", body)
        if match:
            return match.group(0)
    raise AssertionError(f"no {path_prefix} link in any email to {to} under {outbox_dir}")
