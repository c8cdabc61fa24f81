"""The pages behind a digest's "more / less like this" links, and the ratings of the preferences page.

A rating link is opened by whoever holds the email, and by mail scanners that open every link: GET
only shows the paper and a button; the button's POST records. Like every signed page (token_pages.py)
these take no CSRF token and are never cached or indexed. Emails get forwarded, so the pages name
the paper and nothing about the subscriber.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from newsletter import tasks
from newsletter.feedback import services
from newsletter.feedback.links import RatedPaper, rated_paper, rating_path
from newsletter.feedback.models import Direction
from newsletter.feedback.selectors import paper_title_in_digest, subscriber_rating_of
from newsletter.models import Subscriber
from newsletter.subscriptions.ratelimit import RateLimited
from newsletter.subscriptions.token_pages import link_invalid, with_subscriber
from newsletter.subscriptions.tokens import Purpose, TokenInvalid

RATE_TEMPLATE = "newsletter/rate.html"


@require_http_methods(["GET", "POST"])
@with_subscriber(Purpose.RATE)
def rate(request: HttpRequest, subscriber: Subscriber, direction: str) -> HttpResponse:
    wanted = Direction.from_slug(direction)
    link = _rating_link(request, subscriber)
    if isinstance(link, HttpResponse):
        return link
    if request.method == "POST":
        if limited := _over_limit(request, subscriber, link):
            return limited
        try:
            changed = services.rating_record(
                subscriber=subscriber,
                digest_id=link.paper.digest_id,
                paper_id=link.paper.paper_id,
                direction=wanted,
            )
        # The checks above ran a moment ago: the digest may have been pruned or the reader left since.
        except services.PaperNotInDigest:
            return _problem(request, "not-in-digest", status=400)
        except services.SubscriberLeft:
            return _problem(request, "left", status=403, title=link.title)
        _retrain_if(changed, subscriber)
    return _rating_page(request, subscriber, link, asked=wanted)


@require_POST
@with_subscriber(Purpose.RATE)
def rate_undo(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    link = _rating_link(request, subscriber)
    if isinstance(link, HttpResponse):
        return link
    if limited := _over_limit(request, subscriber, link):
        return limited
    _retrain_if(services.rating_undo(subscriber=subscriber, paper_id=link.paper.paper_id), subscriber)
    return _rating_page(request, subscriber, link, asked=None)


@dataclass(frozen=True, slots=True)
class RatingLink:
    paper: RatedPaper
    title: str


def _rating_link(request: HttpRequest, subscriber: Subscriber) -> RatingLink | HttpResponse:
    """The paper the link names, or the page saying why it cannot be rated."""
    try:
        paper = rated_paper(request.token_data)
    except TokenInvalid as error:
        return link_invalid(request, error.reason)
    title = paper_title_in_digest(subscriber=subscriber, digest_id=paper.digest_id, paper_id=paper.paper_id)
    if title is None:
        return _problem(request, "not-in-digest", status=400)
    if subscriber.status == Subscriber.Status.UNSUBSCRIBED:
        return _problem(request, "left", status=403, title=title)
    return RatingLink(paper, title)


def _over_limit(request: HttpRequest, subscriber: Subscriber, link: RatingLink) -> HttpResponse | None:
    try:
        services.rating_check_limits(subscriber=subscriber)
    except RateLimited as error:
        return _problem(request, "limited", status=429, title=link.title, error=str(error))
    return None


def _retrain_if(changed: bool, subscriber: Subscriber) -> None:
    if changed:
        tasks.queue_taste_training(subscriber_id=subscriber.pk)


def _problem(request: HttpRequest, problem: str, *, status: int, **context) -> HttpResponse:
    return render(request, RATE_TEMPLATE, {"problem": problem, **context}, status=status)


def _rating_page(
    request: HttpRequest, subscriber: Subscriber, link: RatingLink, *, asked: Direction | None
) -> HttpResponse:
    """The paper, its rating now, and the buttons: record what the link asks, undo, or change."""
    current = subscriber_rating_of(subscriber=subscriber, paper_id=link.paper.paper_id)
    context = {
        "title": link.title,
        "asked": asked.slug if asked else "",
        "current": current.slug if current else "",
        "more_path": rating_path(request.token, Direction.MORE),
        "less_path": rating_path(request.token, Direction.LESS),
        "undo_path": reverse("newsletter:rate_undo", args=[request.token]),
    }
    return render(request, RATE_TEMPLATE, context)


# --- The preferences page's ratings --------------------------------------------------------


@require_POST
@with_subscriber(Purpose.MANAGE)
def preferences_rating_undo(request: HttpRequest, subscriber: Subscriber, paper_id: int) -> HttpResponse:
    if services.rating_undo(subscriber=subscriber, paper_id=paper_id):
        tasks.queue_taste_training(subscriber_id=subscriber.pk)
        messages.success(request, "Rating removed.")
    return redirect("newsletter:preferences", request.token)


@require_POST
@with_subscriber(Purpose.MANAGE)
def preferences_ratings_reset(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    if services.ratings_reset(subscriber=subscriber):
        tasks.queue_taste_training(subscriber_id=subscriber.pk)
        messages.success(request, "All your ratings are removed: your digests no longer learn from them.")
    return redirect("newsletter:preferences", request.token)
