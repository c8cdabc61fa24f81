"""Pages reached through a signed link: resolving the token, the headers every such page sends, and
the page shown when a link does not work.

The URL of these pages is the credential. So they are never stored by a cache (`no-store`), never
indexed, and never hand their URL to anyone in a Referer header: not to the sites a digest links
to, not to our own access logs. Every page is wrapped here, including the invalid-link page and the
redirects after a POST, so no view can forget it.

Their forms carry no CSRF token, on purpose. CSRF protection guards credentials a browser sends on
its own (cookies); these views accept none, only the token in the URL, and a forged cross-site
request would need that URL, with which anyone can make the request directly. And under
`Referrer-Policy: no-referrer` browsers send `Origin: null` with a form's POST, which Django's CSRF
check refuses: it would block every button of these pages. The public forms (signup, "send me a new
link") keep their CSRF protection, so the invalid-link page links to that form instead of holding it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from newsletter.subscriptions import tokens

PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


def private(response: HttpResponse) -> HttpResponse:
    for header, value in PRIVATE_HEADERS.items():
        response[header] = value
    return response


def link_invalid(request: HttpRequest, reason: str, *, status: int = 400) -> HttpResponse:
    """Why the link does not work, and where to ask for a fresh one."""
    context = {"reason": reason, "rating_link_days": tokens.MAX_AGE[tokens.Purpose.RATE].days}
    return private(render(request, "newsletter/link_invalid.html", context, status=status))


def with_subscriber(purpose: tokens.Purpose) -> Callable:
    """Resolve the URL's token to a subscriber (the view gets it as its second argument), or show the
    invalid-link page. The token and its data are on `request.token` and `request.token_data`.
    No CSRF token is asked for (see the module's docstring)."""

    def decorator(view: Callable) -> Callable:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, token: str, *args, **kwargs) -> HttpResponse:
            try:
                subscriber, data = tokens.subscriber_from_token(token, purpose)
            except tokens.TokenError as error:
                return link_invalid(request, error.reason)
            request.token = token
            request.token_data = data
            return private(view(request, subscriber, *args, **kwargs))

        return wrapper

    return decorator
