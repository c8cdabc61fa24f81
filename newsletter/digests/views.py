"""The signed "view in browser" page: the same digest as the email, for anyone holding the link."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string

from newsletter.digests.rendering import DigestRenderer
from newsletter.digests.selectors import digest_views
from newsletter.subscriptions import tokens

# The page is the email's own HTML, whose styles are inline: allow inline styles and nothing
# else (no scripts, no forms, not framable).
DIGEST_PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def digest_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber, data = tokens.subscriber_from_token(token, tokens.Purpose.VIEW_DIGEST)
    except tokens.TokenError:
        raise Http404("This digest link is not valid (any more).") from None
    views = digest_views(digest_ids=[data.extra.get("d")])
    if not views or views[0].subscriber.id != subscriber.id:
        raise Http404("This digest no longer exists.")
    context = DigestRenderer().context(views[0])
    response = HttpResponse(render_to_string("newsletter/digest_view.html", context))
    response["Content-Security-Policy"] = DIGEST_PAGE_CSP
    response["X-Robots-Tag"] = "noindex"
    return response
