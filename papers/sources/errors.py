"""Exception types for fetching and parsing paper sources.

Each names the URL (or file) it is about, so a failed run says where to look.
"""

from __future__ import annotations


class SourceError(Exception):
    """Something went wrong reading one source page; `url` says which."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        self.message = message
        super().__init__(f"{url}: {message}")


class ParseError(SourceError):
    """The body arrived but is not what the source should serve (missing blob, wrong JSON shape…).

    Retrying will not help; a person has to look at the page.
    """


class FetchError(SourceError):
    """The HTTP exchange failed: a permanent failure such as 404 or 403 unless a subclass says otherwise."""

    def __init__(self, url: str, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(url, message)


class TransientFetchError(FetchError):
    """A failure a later attempt may not meet: timeouts, 429/5xx, dropped or truncated bodies."""


class FetchTimeout(TransientFetchError):
    pass


class ConnectionFailed(TransientFetchError):
    pass


class HostUnreachable(ConnectionFailed):
    """The host name does not resolve, or nothing accepts the connection: offline, or a wrong base URL.

    Retrying within seconds does not help, so the client fails at once; a task may still try again
    minutes later, when the network may be back.
    """

    def __init__(
        self, url: str, message: str, *, host: str = "", reason: str = "", status: int | None = None
    ):
        self.host = host
        self.reason = reason
        super().__init__(url, message, status=status)


class ServerBusy(TransientFetchError):
    """429 or 5xx, still so after the client's own bounded retries."""


class TruncatedBody(TransientFetchError):
    """Fewer bytes arrived than Content-Length announced."""


class InvalidArxivId(ValueError):
    """A string that is not an arXiv identifier (new style 2401.12345 or old style hep-th/9901001)."""
