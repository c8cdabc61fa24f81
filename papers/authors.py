"""How a paper's authors are shown in little space: on the site, in feeds and in digest emails."""

from __future__ import annotations

from collections.abc import Sequence

SHOWN_AUTHORS = 3


def first_authors(authors: Sequence[str] | None, shown: int = SHOWN_AUTHORS) -> tuple[list[str], int]:
    """The first `shown` author names (blank ones skipped) and how many more there are.

    Everyone is listed when there is one more than `shown`: "+1" would save no space.
    """
    names = [str(name).strip() for name in authors or [] if str(name).strip()]
    if len(names) <= shown + 1:
        return names, 0
    return names[:shown], len(names) - shown


def short_authors(authors: Sequence[str] | None, shown: int = SHOWN_AUTHORS) -> str:
    """ "A, B, C … +7": plain text, for templates to escape like any other value."""
    listed, rest = first_authors(authors, shown)
    return f"{', '.join(listed)} … +{rest}" if rest else ", ".join(listed)
