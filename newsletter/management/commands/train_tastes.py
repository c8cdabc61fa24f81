"""Retrain the taste model of every reader who rated papers, now (a task does it when ratings change).

Run it after the papers were embedded again with another model: a taste model learnt on the old
embedding is not used with the new one, and ratings alone would not retrain it until they change.
"""

from __future__ import annotations

from collections import Counter

from django.core.management.base import BaseCommand, CommandError, CommandParser

from newsletter.feedback.training import subscribers_with_ratings, taste_train
from newsletter.subscriptions.selectors import subscriber_by_email


class Command(BaseCommand):
    help = "Retrain the taste model of every subscriber with ratings (or of one), showing progress."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", help="Only this subscriber.")

    def handle(self, *args, email: str | None, **options) -> None:
        if email:
            subscriber = subscriber_by_email(email=email)
            if subscriber is None:
                raise CommandError(f"No subscriber with the address {email}.")
            subscriber_ids = [subscriber.pk]
        else:
            subscriber_ids = subscribers_with_ratings()
        outcomes: Counter[str] = Counter()
        for done, subscriber_id in enumerate(subscriber_ids, start=1):
            outcomes[str(taste_train(subscriber_id=subscriber_id))] += 1
            if done % 1000 == 0:
                self.stdout.write(f"  {done}/{len(subscriber_ids)}")
        summary = ", ".join(f"{outcome}: {count}" for outcome, count in sorted(outcomes.items())) or "nobody"
        self.stdout.write(self.style.SUCCESS(f"{len(subscriber_ids)} subscriber(s). {summary}."))
