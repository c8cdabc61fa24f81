from __future__ import annotations

import os
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from config import embedded_redis


class Command(BaseCommand):
    help = "Run the embedded Redis server on var/redis.sock in the foreground (only when REDIS_URL is unset)."

    def handle(self, *args, **options) -> None:
        if settings.REDIS_URL:
            # Honcho stops every process when one exits, so stay up without doing anything.
            self.stdout.write("REDIS_URL is set: using that Redis, not starting the embedded one.")
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
            return
        socket_path = settings.EMBEDDED_REDIS_SOCKET
        if embedded_redis.is_answering(socket_path):
            self.stdout.write(f"An embedded Redis already answers on {socket_path}; using it.")
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
            return
        if socket_path.exists():
            socket_path.unlink()
        self.stdout.write(f"Embedded Redis on unix socket {socket_path}")
        command = embedded_redis.server_command(socket_path)
        # Replace this process, so signals from honcho (Ctrl-C) reach Redis directly.
        os.execv(command[0], command)  # noqa: S606
