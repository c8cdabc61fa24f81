"""The project's own mail-delivery errors: what every caller outside delivery/ catches.

The provider backends (SendGrid today) translate their failures into these, so services and the
digest sender never import a provider's exception types.
"""

from __future__ import annotations


class DeliveryError(Exception):
    """The provider did not accept a message. `.status` is the HTTP status (None without a reply).

    Raised as is (no subclass) when the request went to the wrong address (404/405/415).
    """

    def __init__(self, message: str, *, status: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class DeliveryRejected(DeliveryError):
    """A 4xx about this message (bad address, too large…): permanent for this message."""


class DeliveryAuthError(DeliveryError):
    """401/403: a configuration problem (the API key), not a problem with the message."""


class DeliveryRateLimited(DeliveryError):
    """429. `.reset_at` is the Unix time the provider says the limit resets (None if not given)."""

    def __init__(
        self, message: str, *, status: int | None = 429, detail: str = "", reset_at: float | None = None
    ) -> None:
        super().__init__(message, status=status, detail=detail)
        self.reset_at = reset_at


class DeliveryServerError(DeliveryError):
    """5xx: the provider's side failed; worth retrying later."""


class DeliveryTimeout(DeliveryError):
    """No answer: connect/read timeout, connection refused or reset (any network failure)."""


# What Django's email backends raise when a message cannot be handed over: DeliveryError from
# ours, OSError (smtplib.SMTPException, socket and file errors) from the others and the outbox.
MAIL_ERRORS = (DeliveryError, OSError)
