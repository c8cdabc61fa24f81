"""Wait until the site can be used, then print the one line a newcomer needs: the address to open.

    manage.py wait_for_web [--port 8000] [--timeout SECONDS] [--stay]

`make run` starts it with the other processes (Procfile). It waits for Redis too, because signing
up needs it (rate limits). `--stay` keeps it running afterwards: honcho stops every process as soon
as one exits.
"""

from __future__ import annotations

import signal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.readiness import printable_url, redis_answers, wait_for, web_answers


class Command(BaseCommand):
    help = "Wait until the web server on 127.0.0.1:PORT and Redis answer, then print the address to open."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--port", type=int, default=8000, help="the web server's port (default 8000)")
        parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait (default 120)")
        parser.add_argument("--stay", action="store_true", help="keep running until stopped")

    def handle(self, *args: Any, **options: Any) -> None:
        timeout = options["timeout"]
        local_url = f"http://127.0.0.1:{options['port']}/"
        host = urlsplit(settings.SITE_URL).netloc
        if not wait_for(lambda: web_answers(local_url, host=host), timeout=timeout):
            raise CommandError(
                f"The web server did not answer on {local_url} within {timeout:.0f}s; "
                "see the web process's lines above."
            )
        if not wait_for(lambda: redis_answers(settings.CACHE_REDIS_URL), timeout=timeout):
            raise CommandError(
                f"Redis at {printable_url(settings.CACHE_REDIS_URL)} did not answer within {timeout:.0f}s."
            )
        self.stdout.write(f"Paperbox is running: open {settings.SITE_URL}/")
        if options["stay"]:
            stop = {signal.SIGINT, signal.SIGTERM}
            signal.pthread_sigmask(signal.SIG_BLOCK, stop)  # so sigwait receives them: a quiet exit
            signal.sigwait(stop)
