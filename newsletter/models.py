from __future__ import annotations

import hashlib
import uuid

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from newsletter import matching

MAX_INTERESTS_PER_SUBSCRIBER = 20
MAX_INTEREST_LENGTH = 200
# Shared by the model's columns and constraints and by the forms that fill them.
EMAIL_MAX_LENGTH = 254  # RFC 5321's limit on a path
TIME_ZONE_MAX_LENGTH = 64
PAPERS_PER_DIGEST_MIN, PAPERS_PER_DIGEST_MAX, PAPERS_PER_DIGEST_DEFAULT = 1, 50, 10
DEFAULT_SEND_HOUR = 7


def email_hash(email: str) -> str:
    """The key of the suppression list: SHA-256 of the trimmed, lower-cased address."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


class EmailHashField(models.CharField):
    """`email_hash(instance.email)`, recomputed whenever the row is saved or bulk-created.

    It lets the database join a subscriber to the suppression list (by hash) in one query, on
    PostgreSQL and SQLite alike. `QuerySet.update(email=...)` bypasses it: whoever changes an
    address that way sets `email_hash` in the same UPDATE (subscriptions.services does).
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs["max_length"] = 64
        kwargs["editable"] = False
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        del kwargs["max_length"], kwargs["editable"]
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        value = email_hash(model_instance.email)
        setattr(model_instance, self.attname, value)
        return value


class CompiledInterestField(models.JSONField):
    """The interest's syntax tree (matching.compiled_form of `text`), recomputed on save and
    bulk_create, so a planner loads it instead of parsing hundreds of thousands of texts each run.

    None for a text the parser refuses (forms and the admin never save one; the planner skips it),
    and for the lines matched by meaning (`~`, `like:`).
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs["editable"] = False
        kwargs["null"] = True
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        del kwargs["editable"], kwargs["null"]
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> list | None:
        value = compiled_form_or_none(model_instance.text)
        setattr(model_instance, self.attname, value)
        return value


def compiled_form_or_none(text: str) -> list | None:
    if matching.line_kind(text) != matching.Source.KEYWORD:
        return None  # matched by meaning: nothing to compile
    try:
        return matching.compiled_form(text)
    except matching.InterestSyntaxError:
        return None


class SubscriberStatus(models.TextChoices):
    PENDING = "pending"
    ACTIVE = "active"
    PAUSED = "paused"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


class Frequency(models.TextChoices):
    DAILY = "daily"
    WEEKLY = "weekly"


class Weekday(models.IntegerChoices):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


class Subscriber(models.Model):
    Status = SubscriberStatus
    Frequency = Frequency
    Weekday = Weekday

    # Random, so that no URL or token reveals or lets anyone guess another subscriber.
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(max_length=EMAIL_MAX_LENGTH)
    email_hash = EmailHashField(db_index=True, help_text="SHA-256 of the lower-cased address.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    frequency = models.CharField(max_length=8, choices=Frequency.choices, default=Frequency.DAILY)
    weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices, default=Weekday.MONDAY, help_text="Used by weekly digests."
    )
    send_hour = models.PositiveSmallIntegerField(default=DEFAULT_SEND_HOUR, help_text="Local hour, 0-23.")
    time_zone = models.CharField(
        max_length=TIME_ZONE_MAX_LENGTH, default="UTC", help_text="IANA time zone name."
    )
    papers_per_digest = models.PositiveSmallIntegerField(default=PAPERS_PER_DIGEST_DEFAULT)
    # Consent record: when and from where the signup and the confirmation happened.
    signup_ip = models.GenericIPAddressField(null=True, blank=True)
    confirmed_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # Bumped to revoke every link sent so far (tokens carry the version they were made with).
    token_version = models.PositiveIntegerField(default=1)
    # Bumped to revoke the address of the digests' feed alone (subscriptions/tokens.py, Purpose.FEED):
    # resetting a leaked feed address leaves the links in the emails working.
    feed_version = models.PositiveIntegerField(default=1)
    # A reader with interests may also want the period's most upvoted papers their lines did not pick
    # (a reader without interests gets only those).
    # db_default too: bulk loads that name only the columns they know (COPY) get the default.
    also_trending = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Add an “Also trending” section to digests picked by interests.",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="subscriber_email_unique_ci"),
            models.CheckConstraint(
                condition=Q(status__in=SubscriberStatus.values), name="subscriber_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(frequency__in=Frequency.values), name="subscriber_frequency_valid"
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="subscriber_weekday_range"
            ),
            models.CheckConstraint(
                condition=Q(send_hour__gte=0, send_hour__lte=23), name="subscriber_hour_range"
            ),
            models.CheckConstraint(
                condition=Q(
                    papers_per_digest__gte=PAPERS_PER_DIGEST_MIN, papers_per_digest__lte=PAPERS_PER_DIGEST_MAX
                ),
                name="subscriber_papers_per_digest_range",
            ),
            models.CheckConstraint(
                condition=Q(confirmed_at__isnull=True) | Q(confirmed_at__gte=F("created_at")),
                name="subscriber_confirmed_after_created",
            ),
            models.CheckConstraint(
                condition=Q(token_version__gte=1), name="subscriber_token_version_positive"
            ),
            models.CheckConstraint(condition=Q(feed_version__gte=1), name="subscriber_feed_version_positive"),
            models.CheckConstraint(condition=~Q(email_hash=""), name="subscriber_email_hash_set"),
        ]
        indexes = [
            # The planner: active subscribers due at an hour.
            models.Index(fields=["status", "frequency", "send_hour"], name="subscriber_due_idx"),
            models.Index(fields=["status", "created_at"], name="subscriber_status_created_idx"),
            # The operations dashboard: confirmations and unsubscriptions per day.
            models.Index(fields=["confirmed_at"], name="subscriber_confirmed_idx"),
            models.Index(
                fields=["unsubscribed_at"],
                condition=Q(unsubscribed_at__isnull=False),
                name="subscriber_unsubscribed_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.email


class InterestKind(models.TextChoices):
    """What a line asks for; the values are those of the pick it makes (matching.Source)."""

    KEYWORD = matching.Source.KEYWORD.value, "Keywords"
    MEANING = matching.Source.MEANING.value, "Description (~)"
    EXAMPLE = matching.Source.EXAMPLE.value, "Example paper (like:)"


class Interest(models.Model):
    """One line of a subscriber's interests: the text exactly as typed and its canonical form.

    A keyword line stores its compiled syntax tree; a `~ description` line the embedding of its
    description (papers.embeddings, computed when saved); a `like:ARXIV_ID` line its paper.
    """

    Kind = InterestKind

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="interests")
    text = models.CharField(max_length=MAX_INTEREST_LENGTH)
    canonical = models.CharField(max_length=400, db_index=True)
    compiled = CompiledInterestField()
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.KEYWORD, db_default=Kind.KEYWORD)
    vector = models.BinaryField(null=True, blank=True, help_text="The description's embedding (float32).")
    example = models.ForeignKey(
        "papers.Paper", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["subscriber_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "canonical"], name="interest_unique_per_subscriber"
            ),
            models.CheckConstraint(condition=~Q(text=""), name="interest_text_not_empty"),
            models.CheckConstraint(condition=Q(kind__in=InterestKind.values), name="interest_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.text


class Suppression(models.Model):
    """An address we must never mail again, kept only as a hash (so it outlives an erasure).

    One row per address, whatever the reason; the first reason recorded is kept.
    """

    class Reason(models.TextChoices):
        ERASED = "erased"
        BOUNCED = "bounced"
        INVALID = "invalid", "Invalid address (dropped by the provider)"
        COMPLAINED = "complained", "Spam complaint"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed through the provider"

    email_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the lower-cased address.")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.email_hash[:12]}… ({self.reason})"


class DigestStatus(models.TextChoices):
    PLANNED = "planned"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    # Final, never sent: the subscriber could no longer be mailed when the digest was claimed.
    CANCELLED = "cancelled"
    # Final, never sent: not claimed within its send window (a late digest is never sent).
    EXPIRED = "expired"


# Final statuses of digests that were not sent: their papers are free for the next digest.
UNSENT_FINAL_STATUSES = (DigestStatus.FAILED, DigestStatus.CANCELLED, DigestStatus.EXPIRED)


class Digest(models.Model):
    """One edition of one subscriber's digest: planned once, sent at most once."""

    Status = DigestStatus

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="digests")
    # The day ("2026-11-21") for daily digests, the ISO week ("2026-W47") for weekly ones.
    edition = models.CharField(max_length=16)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED)
    paper_count = models.PositiveSmallIntegerField(default=0)
    sendgrid_message_id = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveSmallIntegerField(
        default=0,
        help_text="Claims that called the provider, or may have (a worker died mid-send); "
        "claims given back without a delivery attempt (401/403, rate limits) do not count.",
    )
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    open_count = models.PositiveIntegerField(default=0)
    click_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "edition"], name="digest_unique_per_edition"),
            models.CheckConstraint(condition=Q(status__in=DigestStatus.values), name="digest_status_valid"),
        ]
        indexes = [
            models.Index(fields=["status", "claimed_at"], name="digest_status_claimed_idx"),
            models.Index(fields=["status", "created_at"], name="digest_status_created_idx"),
            # The dashboard's "today" counts, and releasing the items of the digests a run just ended.
            models.Index(fields=["status", "updated_at"], name="digest_status_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.subscriber_id} {self.edition} ({self.status})"


class PickSource(models.TextChoices):
    KEYWORD = matching.Source.KEYWORD.value, "Keyword line"
    MEANING = matching.Source.MEANING.value, "Close to a description"
    EXAMPLE = matching.Source.EXAMPLE.value, "Like an example paper"
    TASTE = matching.Source.TASTE.value, "Learnt from ratings"
    TRENDING = matching.Source.TRENDING.value, "Trending"


class DigestItem(models.Model):
    Source = PickSource

    digest = models.ForeignKey(Digest, on_delete=models.CASCADE, related_name="items")
    # Denormalized from the digest so the database itself forbids sending a paper twice to someone.
    # No foreign-key constraint in the database for this copy and for the paper: a day's planning
    # writes millions of items, and PostgreSQL checks every deferred constraint row by row at
    # commit (measured: three quarters of a shard's commit). Only the planner writes items, from
    # rows it just read; deleting a subscriber or a paper still cascades, through the ORM.
    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    # Set, in the same transaction, when the digest ends failed, cancelled or expired: the paper
    # was not sent, so it may be planned again for this subscriber. The row stays for the admin
    # and the data export.
    released = models.BooleanField(default=False)
    paper = models.ForeignKey("papers.Paper", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    rank = models.PositiveSmallIntegerField()
    score = models.FloatField()
    # The lines that picked the paper, as typed; the words to highlight are found when the digest
    # is shown (matching.explain_match), for ten papers rather than for every pick of a run.
    matched_interests = models.JSONField(default=list)
    # How it was picked: the digest groups trending papers apart and says why each paper is there.
    source = models.CharField(
        max_length=8, choices=PickSource.choices, default=PickSource.KEYWORD, db_default=PickSource.KEYWORD
    )
    # The paper it is close to, for "like <title>" and "because you liked <title>" (no database
    # constraint, as for `paper`).
    liked_paper = models.ForeignKey(
        "papers.Paper",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )

    class Meta:
        ordering = ["digest_id", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "paper"],
                condition=Q(released=False),
                name="digestitem_paper_once_per_subscriber",
            ),
            models.UniqueConstraint(fields=["digest", "rank"], name="digestitem_rank_unique"),
            models.CheckConstraint(condition=Q(source__in=PickSource.values), name="digestitem_source_valid"),
        ]

    def __str__(self) -> str:
        return f"#{self.rank} {self.paper_id}"


class DeliveryEvent(models.Model):
    """One event from SendGrid's Event Webhook, stored once (by sg_event_id)."""

    sg_event_id = models.CharField(max_length=100, unique=True)
    event = models.CharField(max_length=32)
    email = models.EmailField(max_length=EMAIL_MAX_LENGTH, blank=True)
    timestamp = models.DateTimeField()
    reason = models.TextField(blank=True)
    digest = models.ForeignKey(
        Digest, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.SET_NULL, null=True, blank=True, related_name="delivery_events"
    )
    raw = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-timestamp"]
        indexes = [
            models.Index(fields=["event", "timestamp"], name="deliveryevent_event_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.email}"


class PlanningRunStatus(models.TextChoices):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class PlanningRun(models.Model):
    """One planning run: the coordinator split the mailable subscribers into shards at `moment`.

    `key` names the beat slot the run belongs to, so two coordinators started for the same slot
    plan once. The counters add up the shards as they finish.
    """

    Status = PlanningRunStatus

    key = models.CharField(max_length=64, unique=True)
    moment = models.DateTimeField(help_text="The instant every shard plans for.")
    force = models.BooleanField(default=False, help_text="Send hours and weekdays ignored.")
    emails = models.JSONField(null=True, blank=True, help_text="Only these addresses (an operator's run).")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    shards = models.PositiveIntegerField(default=0)
    shards_done = models.PositiveIntegerField(default=0)
    due = models.PositiveIntegerField(default=0)
    planned = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    items = models.PositiveBigIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=PlanningRunStatus.values), name="planningrun_status_valid"
            ),
            models.CheckConstraint(condition=Q(shards_done__lte=F("shards")), name="planningrun_shards_done"),
        ]
        indexes = [models.Index(fields=["status", "started_at"], name="planningrun_status_started_idx")]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"

    @property
    def seconds(self) -> float | None:
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None


class PlanningShard(models.Model):
    """The subscribers with ids in [first_id, last_id] of one run, planned by one task."""

    Status = PlanningRunStatus

    run = models.ForeignKey(PlanningRun, on_delete=models.CASCADE, related_name="shard_set")
    number = models.PositiveIntegerField()
    first_id = models.BigIntegerField()
    last_id = models.BigIntegerField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    due = models.PositiveIntegerField(default=0)
    planned = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    items = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="planningshard_unique_number"),
            models.CheckConstraint(condition=Q(first_id__lte=F("last_id")), name="planningshard_id_range"),
            models.CheckConstraint(
                condition=Q(status__in=PlanningRunStatus.values), name="planningshard_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} shard {self.number} ({self.status})"


# Models kept beside the code of their concept, registered with the app here.
from newsletter.feedback.models import Rating, TasteModel  # noqa: E402, F401
