"""The claim: the one step that decides a planned digest will be sent, and by which task.

A send task claims its whole chunk in one transaction, before any API call:
  1. planned digests whose subscriber may no longer be mailed (delivery.suppressions decides:
     unsubscribed, paused, bounced, complained, or the address suppressed) become `cancelled`, and
     those past their send window (windows.py) become `expired`, each with the reason in last_error;
     their items are released so the papers can go in the subscriber's next digest;
  2. the claim itself, `UPDATE … SET status='sending' WHERE status='planned' AND id IN (the chunk's
     digests whose subscriber may be mailed and whose window is open) RETURNING id`. The checks are
     inside the one conditional UPDATE, so even a subscriber who left between the two statements is
     not claimed (their digest stays planned; the next claim or the sweep cancels it). RETURNING
     gives exactly the rows this statement moved (PostgreSQL, and SQLite >= 3.35), with no
     read-check-write window: a duplicated or retried task message claims nothing and sends nothing.

The sweep runs step 1 over every planned digest too, so nothing that must not go out is re-queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Concat
from django.utils import timezone

from newsletter.delivery.suppressions import subscribers_mailable, unmailable_reason
from newsletter.digests.windows import expiry_reason, past_window
from newsletter.models import UNSENT_FINAL_STATUSES, Digest, DigestItem, Subscriber


@dataclass(slots=True)
class ClaimResult:
    claimed_ids: list[int]
    cancelled: int = 0
    expired: int = 0


def digests_claim(*, digest_ids: list[int], now: datetime | None = None) -> ClaimResult:
    """Cancel or expire what may not be sent, then claim the rest (planned -> sending), in one transaction."""
    if not digest_ids:
        return ClaimResult(claimed_ids=[])
    now = now or timezone.now()
    with transaction.atomic():
        cancelled, expired = digests_cancel_unsendable(
            digests=Digest.objects.filter(id__in=digest_ids), now=now
        )
        claimed = _claim(digest_ids=digest_ids, now=now)
    return ClaimResult(claimed_ids=claimed, cancelled=cancelled, expired=expired)


def _subscriber_mailable() -> Exists:
    return Exists(subscribers_mailable().filter(pk=OuterRef("subscriber_id")))


def _claim(*, digest_ids: list[int], now: datetime) -> list[int]:
    sendable = (
        Digest.objects.filter(id__in=digest_ids, status=Digest.Status.PLANNED)
        .filter(_subscriber_mailable())
        .exclude(past_window(now=now))
    )
    subquery, params = sendable.order_by().values("id").query.sql_with_params()
    table = db_connection.ops.quote_name(Digest._meta.db_table)
    # status = 'planned' stays on the UPDATE itself: under concurrent claims PostgreSQL re-checks it
    # on the row it waited for, so two tasks never both move the same digest.
    sql = (
        f"UPDATE {table} SET status = %s, claimed_at = %s, updated_at = %s, attempts = attempts + 1 "  # noqa: S608 - the subquery is compiled by Django, values are parameters
        f"WHERE status = %s AND id IN ({subquery}) RETURNING id"
    )
    with db_connection.cursor() as cursor:
        cursor.execute(sql, [Digest.Status.SENDING, now, now, Digest.Status.PLANNED, *params])
        return sorted(row[0] for row in cursor.fetchall())


def digests_cancel_unsendable(*, digests: QuerySet[Digest], now: datetime) -> tuple[int, int]:
    """Among `digests`, end the planned ones that must not be sent; returns (cancelled, expired).

    Cancelled: the subscriber may not be mailed any more. Expired: past the send window. Both are
    final, with the reason in last_error, and their items are released. The claim and the sweep
    both call this.
    """
    planned = digests.filter(status=Digest.Status.PLANNED)
    why = Subquery(
        Subscriber.objects.filter(pk=OuterRef("subscriber_id"))
        .annotate(why=unmailable_reason())
        .values("why")
    )
    cancelled = planned.filter(~_subscriber_mailable()).update(
        status=Digest.Status.CANCELLED,
        updated_at=now,
        last_error=Concat(Value("Cancelled before sending: "), why, Value(".")),
    )
    expired = planned.filter(past_window(now=now)).update(
        status=Digest.Status.EXPIRED, updated_at=now, last_error=expiry_reason()
    )
    if cancelled or expired:
        digest_items_release(digests=digests.filter(updated_at=now))
    return cancelled, expired


def digest_items_release(*, digests: QuerySet[Digest]) -> int:
    """Free the papers of those `digests` that ended unsent (failed, cancelled, expired).

    Call it in the transaction that set the status, so no planner ever sees the status without
    the release. Releasing twice is harmless.
    """
    unsent = digests.filter(status__in=UNSENT_FINAL_STATUSES).values("id")
    return DigestItem.objects.filter(digest_id__in=unsent, released=False).update(released=True)
