"""The address of the client that sent a request, for rate limits and the consent record."""

from __future__ import annotations

from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is whatever the client wants it to be unless a trusted
    # proxy rewrites it, and a rate limit keyed on a forgeable value limits nothing.
    return request.META.get("REMOTE_ADDR") or None
