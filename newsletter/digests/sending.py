"""Sending digests through the email backend (SendGrid in production), each at most once.

A task first claims its whole chunk (claiming.py: digests of subscribers who left are cancelled,
late ones expired, the rest moved from `planned` to `sending` by one conditional UPDATE), then
renders and sends what it claimed. Someone who leaves after the claim and before SendGrid's reply
still gets that one digest (the README's "Delivery guarantees" says how long that window is).

`attempts` counts claims that called SendGrid, or may have: the claim adds one (a worker killed
mid-send might have called), and an outcome that proves no delivery was attempted (a release after
401/403 or rate limits, a rendering error) gives it back.

Outcomes, recorded in bulk (one UPDATE per outcome group, flushed every FLUSH_EVERY messages so a
crash leaves few digests in doubt):
  - 202: `sent`, with SendGrid's X-Message-Id.
  - 429: every sending thread waits until X-RateLimit-Reset, then the same message is tried again.
  - 5xx and timeouts: retried with exponential backoff and full jitter, RetryPolicy.max_retries
    times; then `failed` with the error. (A read timeout is the one ambiguous case: SendGrid may
    have accepted the message; SendGrid has no idempotency key, so a retry after a timeout can in
    rare cases deliver twice. We accept that over losing the digest, as the issue asks.)
  - 400/413: `failed` with SendGrid's error text; never retried.
  - 401/403: the run stops. The digest that got it and every digest not yet sent go back to
    `planned`, and the task raises DigestSendingConfigurationError: a bad key must not burn through
    the list marking everyone failed.
  - anything else raised while sending: left in `sending` with the error; the sweep decides.
A failed digest's items are released in the same transaction as its status.

The guarantee: at most once per digest. A digest is only ever sent by the task that claimed it,
and a digest left in `sending` (the worker died between SendGrid's 202 and our UPDATE, or while
waiting for the reply) is never blindly re-sent: the sweep (sweep.py) settles it.
So "exactly once" holds whenever SendGrid's events reach us within RESEND_AFTER; if the event
webhook is down for that long, a digest in doubt may be sent a second time.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Case, F, TextField, Value, When
from django.utils import timezone

from newsletter.delivery.errors import (
    DeliveryAuthError,
    DeliveryError,
    DeliveryRateLimited,
    DeliveryRejected,
    DeliveryServerError,
    DeliveryTimeout,
)
from newsletter.digests.claiming import digest_items_release, digests_claim
from newsletter.digests.rendering import DigestRenderer, DigestView
from newsletter.digests.selectors import digest_views
from newsletter.models import Digest

logger = logging.getLogger(__name__)

# Digests per send task: small enough that a task finishes well within its time limit.
SEND_CHUNK = 200
SEND_THREADS = 8
FLUSH_EVERY = 50
# After a 401/403 every send task stops before claiming, for this long; the digests stay planned
# and the sweep queues them again once an operator has fixed the key.
CREDENTIALS_REFUSED_KEY = "newsletter:sendgrid-credentials-refused"
CREDENTIALS_REFUSED_PAUSE = 10 * 60


class DigestSendingConfigurationError(Exception):
    """SendGrid refused our credentials (401/403): nothing more can be sent until an operator acts."""


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_rate_limit_waits: int = 5
    max_rate_limit_wait: float = 120.0

    def backoff(self, retry: int) -> float:
        """Full jitter (AWS architecture blog): uniform in [0, min(cap, base * 2**retry)]."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**retry))


@dataclass(slots=True)
class Outcome:
    digest_id: int
    kind: str  # "sent", "failed", "release" (back to planned), "unknown" (left in sending)
    message_id: str = ""
    error: str = ""
    # False when no delivery was attempted (a release, a rendering error): the claim's attempt is
    # given back.
    attempted: bool = True


@dataclass(slots=True)
class SendReport:
    claimed: int = 0
    cancelled: int = 0
    expired: int = 0
    sent: int = 0
    failed: int = 0
    released: int = 0
    unknown: int = 0
    configuration_error: str = ""

    def add(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            if outcome.kind == "sent":
                self.sent += 1
            elif outcome.kind == "failed":
                self.failed += 1
            elif outcome.kind == "release":
                self.released += 1
            else:
                self.unknown += 1


def digests_send(
    *,
    digest_ids: list[int],
    threads: int = SEND_THREADS,
    policy: RetryPolicy | None = None,
    on_progress: Callable[[SendReport], None] | None = None,
) -> SendReport:
    """Claim, render and send these digests; raises DigestSendingConfigurationError on 401/403."""
    _raise_if_credentials_refused()
    claim = digests_claim(digest_ids=digest_ids)
    report = SendReport(claimed=len(claim.claimed_ids), cancelled=claim.cancelled, expired=claim.expired)
    if not claim.claimed_ids:
        return report
    views = digest_views(digest_ids=claim.claimed_ids)
    run = _SendRun(policy=policy or RetryPolicy())
    renderer = DigestRenderer()
    with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="digest-send") as pool:
        try:
            for start in range(0, len(views), FLUSH_EVERY):
                run.stop_if_another_task_was_refused()
                batch = views[start : start + FLUSH_EVERY]
                outcomes = list(pool.map(lambda view: run.send(view, renderer), batch))
                digests_record(outcomes=outcomes)
                report.add(outcomes)
                if on_progress:
                    on_progress(report)
        finally:
            run.close_connections()
    if run.auth_error:
        report.configuration_error = run.auth_error
        raise DigestSendingConfigurationError(run.auth_error)
    return report


def _raise_if_credentials_refused() -> None:
    """Stop before claiming anything while SendGrid is refusing our key (seen by any task)."""
    if refused := cache.get(CREDENTIALS_REFUSED_KEY):
        raise DigestSendingConfigurationError(refused)


class _SendRun:
    """State shared by the sending threads of one task: rate-limit gate, stop flag, connections."""

    def __init__(self, *, policy: RetryPolicy) -> None:
        self.policy = policy
        self.auth_error = ""
        self._lock = threading.Lock()
        self._not_before = 0.0  # time.time() before which nobody sends (429)
        self._local = threading.local()
        self._connections: list = []

    def _connection(self):
        backend = getattr(self._local, "backend", None)
        if backend is None:
            backend = self._local.backend = get_connection(fail_silently=False)
            backend.open()
            with self._lock:
                self._connections.append(backend)
        return backend

    def stop_if_another_task_was_refused(self) -> None:
        if not self.auth_error and (refused := cache.get(CREDENTIALS_REFUSED_KEY)):
            self.auth_error = refused

    def close_connections(self) -> None:
        for backend in self._connections:
            backend.close()

    def send(self, view: DigestView, renderer: DigestRenderer) -> Outcome:
        if self.auth_error:
            return Outcome(
                view.digest_id,
                "release",
                error="Not sent: the run stopped on a configuration error.",
                attempted=False,
            )
        try:
            message = renderer.message(view)
        except Exception as error:  # a template or data bug: nothing was sent, so fail it visibly
            logger.exception("Could not render digest %s", view.digest_id)
            return Outcome(view.digest_id, "failed", error=f"Rendering failed: {error!r}", attempted=False)
        return self._send_with_retries(view.digest_id, message)

    def _send_with_retries(self, digest_id: int, message) -> Outcome:
        retries = rate_waits = 0
        while True:
            self._wait_for_gate()
            try:
                self._connection().send_messages([message])
            except DeliveryAuthError as error:
                self.auth_error = (
                    f"SendGrid refused the API key ({error.status}: {error.detail or error}). "
                    "Check SENDGRID_API_KEY and its Mail Send permission; the remaining digests are "
                    "left planned."
                )
                # Tell every other send task of this run (other chunks, other workers) to stop too.
                cache.set(CREDENTIALS_REFUSED_KEY, self.auth_error, timeout=CREDENTIALS_REFUSED_PAUSE)
                return Outcome(digest_id, "release", error=self.auth_error, attempted=False)
            except DeliveryRateLimited as error:
                rate_waits += 1
                if rate_waits > self.policy.max_rate_limit_waits:
                    return Outcome(
                        digest_id,
                        "release",
                        error=f"Rate limited {rate_waits} times: {error}",
                        attempted=False,
                    )
                self._close_gate(error.reset_at)
            except (DeliveryServerError, DeliveryTimeout) as error:
                if retries >= self.policy.max_retries:
                    return Outcome(digest_id, "failed", error=_error_text(error, tries=retries + 1))
                time.sleep(self.policy.backoff(retries))
                retries += 1
            except (DeliveryRejected, DeliveryError) as error:
                return Outcome(digest_id, "failed", error=_error_text(error, tries=retries + 1))
            except Exception as error:
                logger.exception("Unexpected error sending digest %s; leaving it for the sweep", digest_id)
                return Outcome(digest_id, "unknown", error=f"Unexpected error while sending: {error!r}")
            else:
                return Outcome(digest_id, "sent", message_id=getattr(message, "sendgrid_message_id", ""))

    def _close_gate(self, reset_at: float | None) -> None:
        wait = min(max((reset_at or time.time() + 1) - time.time(), 0.05), self.policy.max_rate_limit_wait)
        with self._lock:
            self._not_before = max(self._not_before, time.time() + wait)

    def _wait_for_gate(self) -> None:
        delay = self._not_before - time.time()
        if delay > 0:
            time.sleep(delay)


def _error_text(error: DeliveryError, *, tries: int) -> str:
    # str(error) already carries the URL, the status and SendGrid's own error text.
    return f"{type(error).__name__} after {tries} attempt{'s' if tries > 1 else ''}: {error}"


def digests_record(*, outcomes: list[Outcome], now: datetime | None = None) -> None:
    """Write outcomes with one UPDATE per kind, each guarded by status='sending'."""
    now = now or timezone.now()
    by_kind: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_kind.setdefault(outcome.kind, []).append(outcome)
    sending = Digest.objects.filter(status=Digest.Status.SENDING)
    if sent := by_kind.get("sent"):
        sending.filter(id__in=_ids(sent)).update(
            status=Digest.Status.SENT,
            sent_at=now,
            updated_at=now,
            last_error="",
            sendgrid_message_id=_case(sent, "message_id"),
        )
    if failed := by_kind.get("failed"):
        with transaction.atomic():
            sending.filter(id__in=_ids(failed)).update(
                status=Digest.Status.FAILED,
                updated_at=now,
                last_error=_case(failed, "error"),
                attempts=_attempts(failed),
            )
            digest_items_release(digests=Digest.objects.filter(id__in=_ids(failed)))
    if released := by_kind.get("release"):
        sending.filter(id__in=_ids(released)).update(
            status=Digest.Status.PLANNED,
            claimed_at=None,
            updated_at=now,
            last_error=_case(released, "error"),
            attempts=_attempts(released),
        )
    if unknown := by_kind.get("unknown"):
        sending.filter(id__in=_ids(unknown)).update(updated_at=now, last_error=_case(unknown, "error"))


def _ids(outcomes: list[Outcome]) -> list[int]:
    return [outcome.digest_id for outcome in outcomes]


def _attempts(outcomes: list[Outcome]) -> Case:
    """Give back the claim's attempt for outcomes where no delivery was attempted."""
    not_attempted = [outcome.digest_id for outcome in outcomes if not outcome.attempted]
    return Case(
        When(id__in=not_attempted, then=F("attempts") - 1),
        default=F("attempts"),
        output_field=Digest._meta.get_field("attempts"),
    )


def _case(outcomes: list[Outcome], attribute: str) -> Case:
    return Case(
        *[When(id=o.digest_id, then=Value(getattr(o, attribute))) for o in outcomes],
        default=Value(""),
        output_field=TextField(),
    )
