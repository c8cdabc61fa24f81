"""Wait until Redis answers, so the Celery processes `make run` starts do not race the embedded server.

    manage.py wait_for_redis [--timeout SECONDS]

The Procfile runs it before the worker and beat: started together with the embedded Redis, they
would otherwise try to connect before its socket exists and log connection errors.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.readiness import printable_url, redis_answers, wait_for


class Command(BaseCommand):
    help = "Wait until Redis (REDIS_URL, or the embedded server) answers; exit non-zero after --timeout."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait (default 60)")

    def handle(self, *args: Any, **options: Any) -> None:
        url = settings.CACHE_REDIS_URL
        if not wait_for(lambda: redis_answers(url), timeout=options["timeout"]):
            raise CommandError(
                f"Redis at {printable_url(url)} did not answer within {options['timeout']:.0f}s. "
                "Check REDIS_URL, or leave it unset and let `make run` start the embedded Redis."
            )
        self.stdout.write(f"Redis answers at {printable_url(url)}.")
