"""Subscriber pages: signup (the home page), confirmation, preferences, unsubscribe, lost links.

No logins: every page past signup is reached through a signed link (newsletter/subscriptions/tokens.py,
token_pages.py). Links opened from an email only ever show a page; changes need a POST, because mail
scanners follow links. The link is the credential of those POSTs, which take no CSRF token (why:
token_pages.py); the public forms, signup and "send me a new link", do.
Redirects after a POST are relative: behind another host name than SITE_URL (a port forward, a
second domain) an absolute one would leave the origin, and the CSP's `form-action 'self'` blocks that.
Emails are queued through newsletter.tasks, never sent while the person waits.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from newsletter import tasks
from newsletter.client_address import client_address
from newsletter.feedback.selectors import subscriber_ratings
from newsletter.models import Subscriber
from newsletter.subscriptions import selectors, services, tokens
from newsletter.subscriptions.forms import EmailChangeForm, ManageLinkForm, PreferencesForm, SignupForm
from newsletter.subscriptions.ratelimit import RateLimited
from newsletter.subscriptions.services import EmailKind
from newsletter.subscriptions.token_pages import with_subscriber
from newsletter.subscriptions.tokens import Purpose


def schedule_from(form: SignupForm | PreferencesForm) -> services.Schedule:
    data = form.cleaned_data
    return services.Schedule(
        frequency=data["frequency"],
        weekday=data["weekday"],
        send_hour=data["send_hour"],
        time_zone=data["time_zone"],
    )


# --- Signup --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None, initial=signup_initial(request))
    if request.method == "POST" and form.is_valid():
        if form.is_bot():
            return redirect("newsletter:check_inbox")
        email, ip = form.cleaned_data["email"], client_address(request)
        try:
            services.subscriber_signup_check_limits(email=email, ip=ip)
        except RateLimited as error:
            form.add_error(None, str(error))
            return render(request, "newsletter/signup.html", {"form": form}, status=429)
        # Known address or not, the same work here; the rest happens in the task.
        tasks.queue_signup(
            email=email,
            interests=form.cleaned_data["interests"],
            schedule=schedule_from(form),
            ip=ip,
            also_trending=form.cleaned_data["also_trending"],
        )
        return redirect("newsletter:check_inbox")
    status = 400 if form.is_bound else 200
    return render(request, "newsletter/signup.html", {"form": form}, status=status)


def signup_initial(request: HttpRequest) -> dict[str, str]:
    """Interests a link filled in (a search, an author, a paper's "like this"), shown in the form.

    Only a starting text: the person reads it, edits it and submits it through the usual checks,
    so any value is harmless; it is cut to what the field accepts.
    """
    text = request.GET.get("interests", "").replace("\x00", "")
    return {"interests": text[: SignupForm.base_fields["interests"].max_length]} if text else {}


def check_inbox(request: HttpRequest) -> HttpResponse:
    return render(request, "newsletter/check_inbox.html")


@require_http_methods(["GET", "POST"])
def request_link(request: HttpRequest) -> HttpResponse:
    form = ManageLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        try:
            services.subscriber_link_check_limits(email=email, ip=client_address(request))
        except RateLimited as error:
            form.add_error(None, str(error))
            return render(request, "newsletter/request_link.html", {"form": form}, status=429)
        tasks.queue_link_request(email=email)
        return redirect("newsletter:check_inbox")
    return render(
        request, "newsletter/request_link.html", {"form": form}, status=400 if form.is_bound else 200
    )


# --- Confirmation --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@with_subscriber(Purpose.CONFIRM)
def confirm(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    if request.method == "POST":
        if services.subscriber_confirm(subscriber=subscriber, ip=client_address(request)):
            tasks.queue_subscription_email(kind=EmailKind.WELCOME, subscriber_id=subscriber.pk)
            messages.success(request, "You are subscribed. Your first digest arrives at the next send time.")
        return redirect(tokens.preferences_path(subscriber))
    return render(request, "newsletter/confirm.html", {"subscriber": subscriber})


# --- Preferences ---------------------------------------------------------------------------


def _preferences_page(
    request: HttpRequest, subscriber: Subscriber, *, form: PreferencesForm | None = None, status: int = 200
) -> HttpResponse:
    context = {
        "subscriber": subscriber,
        "form": form or PreferencesForm.for_subscriber(subscriber),
        "email_form": EmailChangeForm(),
        "token": request.token,
        "unsubscribe_path": tokens.unsubscribe_path(subscriber),
        "feed_url": tokens.feed_url(subscriber),
        "ratings": subscriber_ratings(subscriber=subscriber),
        "examples": selectors.interest_examples(subscriber=subscriber),
    }
    return render(request, "newsletter/preferences.html", context, status=status)


@require_http_methods(["GET", "POST"])
@with_subscriber(Purpose.MANAGE)
def preferences(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    if request.method == "GET":
        return _preferences_page(request, subscriber)
    form = PreferencesForm(request.POST)
    if not form.is_valid():
        return _preferences_page(request, subscriber, form=form, status=400)
    services.subscriber_update_preferences(
        subscriber=subscriber,
        interests=form.cleaned_data["interests"],
        schedule=schedule_from(form),
        papers_per_digest=form.cleaned_data["papers_per_digest"],
        also_trending=form.cleaned_data["also_trending"],
    )
    messages.success(request, "Your preferences are saved.")
    return redirect("newsletter:preferences", request.token)


@require_POST
@with_subscriber(Purpose.MANAGE)
def pause(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    if services.subscriber_pause(subscriber=subscriber):
        messages.success(request, "Paused. We will not send digests until you resume.")
    return redirect("newsletter:preferences", request.token)


@require_POST
@with_subscriber(Purpose.MANAGE)
def resume(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    if services.subscriber_resume(subscriber=subscriber):
        messages.success(request, "Resumed. Digests start again at your next send time.")
    elif services.subscriber_resubscribe(subscriber=subscriber):
        messages.success(request, "Welcome back: you are subscribed again. Older links no longer work.")
        # The resubscription revoked the token in this page's URL.
        return redirect(tokens.preferences_path(subscriber))
    return redirect("newsletter:preferences", request.token)


@require_POST
@with_subscriber(Purpose.MANAGE)
def reset_feed(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    services.subscriber_feed_reset(subscriber=subscriber)
    messages.success(request, "Your feed has a new address. The old one no longer works.")
    return redirect("newsletter:preferences", request.token)


@require_POST
@with_subscriber(Purpose.MANAGE)
def change_email(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    form = EmailChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(form.errors["new_email"]))
        return redirect("newsletter:preferences", request.token)
    try:
        services.subscriber_email_change_check_limits(subscriber=subscriber)
    except RateLimited as error:
        messages.error(request, str(error))
        return redirect("newsletter:preferences", request.token)
    # Queued whatever the address; the task skips one that is taken or suppressed.
    tasks.queue_subscription_email(
        kind=EmailKind.CHANGE_EMAIL, subscriber_id=subscriber.pk, new_email=form.cleaned_data["new_email"]
    )
    messages.success(
        request, "We sent a confirmation link to the new address. The change applies once you follow it."
    )
    return redirect("newsletter:preferences", request.token)


@require_http_methods(["GET", "POST"])
@with_subscriber(Purpose.CHANGE_EMAIL)
def change_email_confirm(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    new_email = str(request.token_data.extra.get("email", ""))
    if request.method == "GET":
        return render(
            request,
            "newsletter/change_email_confirm.html",
            {"subscriber": subscriber, "new_email": new_email},
        )
    try:
        services.subscriber_change_email(subscriber=subscriber, new_email=new_email)
    except services.EmailTaken:
        return render(
            request,
            "newsletter/change_email_confirm.html",
            {"subscriber": subscriber, "taken": True},
            status=409,
        )
    messages.success(request, f"Your address is now {new_email}. Links in older emails no longer work.")
    return redirect(tokens.preferences_path(subscriber))


@require_POST
@with_subscriber(Purpose.MANAGE)
def export_data(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    data = selectors.subscriber_data_export(subscriber=subscriber)
    response = HttpResponse(json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="paperbox-my-data.json"'
    return response


@require_http_methods(["GET", "POST"])
@with_subscriber(Purpose.MANAGE)
def erase(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    if request.method == "GET":
        return render(request, "newsletter/erase.html", {"subscriber": subscriber, "token": request.token})
    services.subscriber_erase(subscriber=subscriber)
    return render(request, "newsletter/erased.html")


# --- Unsubscribe (RFC 8058) ----------------------------------------------------------------


# The unsubscribe link is in every email's headers, never expires and gets forwarded with the email:
# it grants leaving, coming back within a few days, and having the preferences link emailed to the
# address on file, nothing else. Its pages name no address and link to no other page of the subscriber.


@csrf_exempt  # RFC 8058: the mailbox provider POSTs with no cookie and no CSRF token.
@require_http_methods(["GET", "POST"])
@with_subscriber(Purpose.UNSUBSCRIBE)
def unsubscribe(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    """GET shows a confirm button (scanners follow links); POST unsubscribes at once and answers 200.

    The POST body is `List-Unsubscribe=One-Click` from a mail client and from our own confirm form;
    the signed token is what authorizes it, so any POST to a valid URL unsubscribes.
    """
    if request.method == "POST":
        services.subscriber_unsubscribe(subscriber=subscriber)
    return _unsubscribe_page(request, subscriber)


def _unsubscribe_page(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    # No subscriber in the context: the template cannot show what it is not given.
    context = {
        "token": request.token,
        "subscribed": subscriber.status in services.SUBSCRIBED,
        "can_undo": services.subscriber_can_undo_unsubscribe(subscriber=subscriber),
    }
    return render(request, "newsletter/unsubscribe.html", context)


@require_POST
@with_subscriber(Purpose.UNSUBSCRIBE)
def undo_unsubscribe(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    if services.subscriber_undo_unsubscribe(subscriber=subscriber):
        messages.success(request, "You are subscribed again.")
    return redirect("newsletter:unsubscribe", request.token)


@require_POST
@with_subscriber(Purpose.UNSUBSCRIBE)
def unsubscribe_preferences_link(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    return _email_preferences_link(request, subscriber)


@require_POST
@with_subscriber(Purpose.VIEW_DIGEST)
def digest_preferences_link(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    return _email_preferences_link(request, subscriber)


def _email_preferences_link(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    """Queue the preferences link to the address on file; the page says so without naming it."""
    try:
        subscriber_id = services.subscriber_preferences_link_request(
            subscriber=subscriber, ip=client_address(request)
        )
    except RateLimited as error:
        return render(request, "newsletter/check_inbox.html", {"error": str(error)}, status=429)
    tasks.queue_subscription_email(kind=EmailKind.LINK, subscriber_id=subscriber_id)
    return redirect("newsletter:check_inbox")
