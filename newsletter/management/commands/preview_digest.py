"""Render a subscriber's next digest to an HTML file, without sending or saving anything."""

from __future__ import annotations

import webbrowser

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from newsletter.digests.planning import digest_views_for_plans, digests_compute
from newsletter.digests.rendering import DigestRenderer
from newsletter.models import Subscriber


class Command(BaseCommand):
    help = "Render EMAIL's next digest to var/previews/ and print the file's path."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--open", action="store_true", help="Open the file in a web browser.")

    def handle(self, *args, email: str, open: bool, **options) -> None:
        subscriber = Subscriber.objects.filter(email__iexact=email.strip()).first()
        if subscriber is None:
            raise CommandError(f"No subscriber with the address {email!r}.")
        if subscriber.status != Subscriber.Status.ACTIVE:
            raise CommandError(f"{email} is {subscriber.status}, not active: they get no digest.")
        plans = digests_compute(
            now=timezone.now(), force=True, emails=[subscriber.email], ignore_existing=True
        )
        if not plans:
            raise CommandError(f"{email} is on the suppression list: they get no digest.")
        if not plans[0].matches:
            self.stderr.write("No new papers match this subscriber's interests: the digest would be skipped.")
        view = digest_views_for_plans(plans=plans)[0]
        rendered = DigestRenderer().render(view)
        directory = settings.VAR_DIR / "previews"
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"digest-{subscriber.key.hex[:12]}-{view.edition}.html"
        path.write_text(rendered.html, encoding="utf-8")
        path.with_suffix(".txt").write_text(
            f"Subject: {rendered.subject}\n\n{rendered.text}", encoding="utf-8"
        )
        self.stdout.write(str(path))
        if open:
            webbrowser.open(path.as_uri())
