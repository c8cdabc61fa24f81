"""Finding a signed link in an email and checking whom and what it is for.

A token carries the second it was signed, so a link made again a moment later differs from the one
in the email: compare what the token says, not its text.
"""

from __future__ import annotations

import re

from newsletter.models import Subscriber
from newsletter.subscriptions import tokens


def links_in(text: str, path_prefix: str) -> list[str]:
    return re.findall(rf"https?://[^\s\"'<>]+?{re.escape(path_prefix)}([^/\s\"'<>]+)/", text)


def assert_link_for(text: str, path_prefix: str, subscriber: Subscriber, purpose: tokens.Purpose) -> None:
    """`text` holds a link under `path_prefix` whose token is valid for `subscriber` and `purpose`."""
    found = links_in(text, path_prefix)
    assert found, f"no {path_prefix} link in the email"
    for token in found:
        owner, _ = tokens.subscriber_from_token(token, purpose)
        assert owner.pk == subscriber.pk
