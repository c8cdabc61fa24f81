"""The signed "view in browser" page: the digest of the email, for anyone holding the link.

People forward that link, so the page shows the digest and nothing else about its subscriber (see
templates/newsletter/digest_view.html); the only thing it offers is to email the preferences link
to the address on file.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse

from newsletter.digests.rendering import DigestRenderer
from newsletter.digests.selectors import digest_views
from newsletter.subscriptions import tokens
from newsletter.subscriptions.token_pages import link_invalid, private

# The page is the email's own HTML, whose styles are inline, under the site's header (its
# stylesheet): allow those styles and nothing else (no scripts, not framable); its one form posts
# back to this site.
DIGEST_PAGE_CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src https: data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# What the page shows of the email's context: the papers with their "more / less like this" links,
# never the subscriber's other signed links (preferences, unsubscribe) or their address. Whoever holds
# this page's link may rate its papers, as whoever holds the email may: the rating pages show the
# paper and nothing else.
PAGE_CONTEXT = ("date_label", "frequency_label", "count", "first_title", "groups")


def digest_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber, data = tokens.subscriber_from_token(token, tokens.Purpose.VIEW_DIGEST)
    except tokens.TokenError as error:
        return link_invalid(request, error.reason, status=404)
    views = digest_views(digest_ids=[data.extra.get("d")])
    if not views or views[0].subscriber.id != subscriber.id:
        return link_invalid(request, "invalid", status=404)
    email_context = DigestRenderer().context(views[0])
    context = {key: email_context[key] for key in PAGE_CONTEXT}
    context["email_link_path"] = reverse("newsletter:digest_preferences_link", args=[token])
    response = HttpResponse(render_to_string("newsletter/digest_view.html", context))
    response["Content-Security-Policy"] = DIGEST_PAGE_CSP
    return private(response)
