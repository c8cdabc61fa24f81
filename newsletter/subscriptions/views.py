"""Subscriber pages: signup (the home page), confirmation, preferences, unsubscribe, lost links.

No logins: every page past signup is reached through a signed link (newsletter/subscriptions/tokens.py).
Links opened from an email only ever show a page; changes need a POST, because mail scanners
follow links. The one exception to CSRF is the RFC 8058 one-click unsubscribe endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from newsletter.client_address import client_address
from newsletter.models import Subscriber
from newsletter.subscriptions import selectors, services, tokens
from newsletter.subscriptions.forms import EmailChangeForm, ManageLinkForm, PreferencesForm, SignupForm
from newsletter.subscriptions.tokens import Purpose, TokenError

PRIVATE_HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


def schedule_from(form: SignupForm | PreferencesForm) -> services.Schedule:
    data = form.cleaned_data
    return services.Schedule(
        frequency=data["frequency"],
        weekday=data["weekday"],
        send_hour=data["send_hour"],
        time_zone=data["time_zone"],
    )


def failure_status(error: Exception) -> int:
    """429 when the person is going too fast, 503 when our email provider failed."""
    return 429 if isinstance(error, services.RateLimited) else 503


def link_error(request: HttpRequest, error: TokenError) -> HttpResponse:
    response = render(
        request,
        "newsletter/link_invalid.html",
        {"reason": error.reason, "form": ManageLinkForm()},
        status=400,
    )
    return _private(response)


def _private(response: HttpResponse) -> HttpResponse:
    # Pages behind a token are personal: never cached by a proxy, never indexed.
    for header, value in PRIVATE_HEADERS.items():
        response[header] = value
    return response


def with_subscriber(purpose: Purpose) -> Callable:
    """Resolve the URL's token to a subscriber, or show the invalid-link page."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, token: str, *args, **kwargs) -> HttpResponse:
            try:
                subscriber, data = tokens.subscriber_from_token(token, purpose)
            except TokenError as error:
                return link_error(request, error)
            request.token = token
            request.token_data = data
            return _private(view(request, subscriber, *args, **kwargs))

        return wrapper

    return decorator


# --- Signup --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if form.is_bot():
            return redirect("newsletter:check_inbox")
        try:
            services.subscriber_signup(
                email=form.cleaned_data["email"],
                interests=form.cleaned_data["interests"],
                schedule=schedule_from(form),
                ip=client_address(request),
            )
        except (services.RateLimited, services.EmailUnavailable) as error:
            form.add_error(None, str(error))
            return render(request, "newsletter/signup.html", {"form": form}, status=failure_status(error))
        return redirect("newsletter:check_inbox")
    status = 400 if form.is_bound else 200
    return render(request, "newsletter/signup.html", {"form": form}, status=status)


def check_inbox(request: HttpRequest) -> HttpResponse:
    return render(request, "newsletter/check_inbox.html")


@require_http_methods(["GET", "POST"])
def request_link(request: HttpRequest) -> HttpResponse:
    form = ManageLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.subscriber_send_manage_link(email=form.cleaned_data["email"], ip=client_address(request))
        except (services.RateLimited, services.EmailUnavailable) as error:
            form.add_error(None, str(error))
            return render(
                request, "newsletter/request_link.html", {"form": form}, status=failure_status(error)
            )
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
            messages.success(request, "You are subscribed. Your first digest arrives at the next send time.")
        return redirect(tokens.preferences_url(subscriber))
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
        "unsubscribe_url": tokens.unsubscribe_url(subscriber),
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
        return redirect(tokens.preferences_url(subscriber))
    return redirect("newsletter:preferences", request.token)


@require_POST
@with_subscriber(Purpose.MANAGE)
def change_email(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    form = EmailChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(form.errors["new_email"]))
        return redirect("newsletter:preferences", request.token)
    try:
        services.subscriber_request_email_change(
            subscriber=subscriber, new_email=form.cleaned_data["new_email"]
        )
    except (services.RateLimited, services.EmailUnavailable) as error:
        messages.error(request, str(error))
        return redirect("newsletter:preferences", request.token)
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
    return redirect(tokens.preferences_url(subscriber))


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


@csrf_exempt  # RFC 8058: the mailbox provider POSTs with no cookie and no CSRF token.
@require_http_methods(["GET", "POST"])
@with_subscriber(Purpose.UNSUBSCRIBE)
def unsubscribe(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    """GET shows a confirm button (scanners follow links); POST unsubscribes at once and answers 200.

    The POST body is `List-Unsubscribe=One-Click` from a mail client and from our own confirm form;
    the signed token is what authorizes it, so any POST to a valid URL unsubscribes.
    """
    if request.method == "GET":
        return render(request, "newsletter/unsubscribe.html", {"subscriber": subscriber, "done": False})
    services.subscriber_unsubscribe(subscriber=subscriber)
    context = {"subscriber": subscriber, "done": True, "preferences_url": tokens.preferences_url(subscriber)}
    return render(request, "newsletter/unsubscribe.html", context)
