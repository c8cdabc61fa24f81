"""Every public route of the newsletter app, written out in one place."""

from django.urls import path, re_path

from newsletter.delivery import webhooks
from newsletter.digests import feeds
from newsletter.digests import views as digests
from newsletter.feedback import views as feedback
from newsletter.subscriptions import preview
from newsletter.subscriptions import views as subscriptions

app_name = "newsletter"

urlpatterns = [
    # Subscriptions: signup is the home page; every page past it is reached by a signed link.
    path("", subscriptions.signup, name="signup"),
    path("check-your-inbox/", subscriptions.check_inbox, name="check_inbox"),
    path("link/", subscriptions.request_link, name="request_link"),
    path("confirm/<str:token>/", subscriptions.confirm, name="confirm"),
    path("preferences/<str:token>/", subscriptions.preferences, name="preferences"),
    path("preferences/<str:token>/pause/", subscriptions.pause, name="pause"),
    path("preferences/<str:token>/resume/", subscriptions.resume, name="resume"),
    path("preferences/<str:token>/email/", subscriptions.change_email, name="change_email"),
    path("preferences/<str:token>/export/", subscriptions.export_data, name="export"),
    path("preferences/<str:token>/erase/", subscriptions.erase, name="erase"),
    path("preferences/<str:token>/feed/reset/", subscriptions.reset_feed, name="reset_feed"),
    path(
        "preferences/<str:token>/ratings/<int:paper_id>/undo/",
        feedback.preferences_rating_undo,
        name="preferences_rating_undo",
    ),
    path("preferences/<str:token>/ratings/reset/", feedback.preferences_ratings_reset, name="ratings_reset"),
    path("change-email/<str:token>/", subscriptions.change_email_confirm, name="change_email_confirm"),
    path("unsubscribe/<str:token>/", subscriptions.unsubscribe, name="unsubscribe"),
    path("unsubscribe/<str:token>/undo/", subscriptions.undo_unsubscribe, name="undo_unsubscribe"),
    path(
        "unsubscribe/<str:token>/email-link/",
        subscriptions.unsubscribe_preferences_link,
        name="unsubscribe_preferences_link",
    ),
    path("interests/preview/", preview.interest_preview_view, name="interest-preview"),
    # Digests: the signed "view in browser" page.
    path("digests/<str:token>/", digests.digest_view, name="digest_view"),
    path(
        "digests/<str:token>/email-link/",
        subscriptions.digest_preferences_link,
        name="digest_preferences_link",
    ),
    # Digests: each subscriber's sent digests as an Atom feed, at a private address.
    path("digest-feed/<str:token>/", feeds.digest_feed, name="digest_feed"),
    # Feedback: each paper's "more / less like this" links in a digest.
    re_path(r"^rate/(?P<token>[^/]+)/(?P<direction>more|less)/$", feedback.rate, name="rate"),
    path("rate/<str:token>/undo/", feedback.rate_undo, name="rate_undo"),
    # Delivery: SendGrid's signed Event Webhook.
    path("webhooks/sendgrid/", webhooks.sendgrid_events, name="sendgrid_events"),
]
