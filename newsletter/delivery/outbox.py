"""An email backend for running without a provider: each message becomes an .eml file.

Files land in settings.OUTBOX_DIR (var/outbox/ by default) and a one-paragraph summary with the
message's links is logged, so a newcomer running `make run` can click the confirmation link. Outside
DEBUG the links are logged with their tokens hidden: a log is read by more people than the mailbox, and
a working link acts as its subscriber. The .eml file keeps the full links.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from config.redaction import redact_url

logger = logging.getLogger("newsletter.outbox")

LINK_PATTERN = re.compile(r"https?://[^\s<>\"')]+")


class OutboxBackend(BaseEmailBackend):
    def __init__(self, fail_silently: bool = False, outbox_dir: str | Path | None = None, **kwargs) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.outbox_dir = Path(outbox_dir or settings.OUTBOX_DIR)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = 0
        for message in email_messages:
            try:
                path = self.write(message)
            except OSError:
                if not self.fail_silently:
                    raise
                logger.exception("Could not write an email to %s", self.outbox_dir)
                continue
            logger.info("%s", summary(message, path))
            sent += 1
        return sent

    def write(self, message: EmailMessage) -> Path:
        # Sortable by time, unique across processes; written to a temporary name and renamed so
        # a reader (a test, a person) never sees half a file.
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        name = f"{timezone.now():%Y%m%d-%H%M%S-%f}-{uuid.uuid4().hex[:8]}.eml"
        path = self.outbox_dir / name
        temporary = self.outbox_dir / f".{name}.tmp"
        temporary.write_bytes(message.message().as_bytes(linesep="\n"))
        os.replace(temporary, path)
        return path


def summary(message: EmailMessage, path: Path) -> str:
    links = LINK_PATTERN.findall(message.body)
    if not settings.DEBUG:
        links = [redact_url(link) for link in links]
    lines = [
        f"Email written to {path}",
        f"  to: {', '.join(message.to)}",
        f"  subject: {message.subject}",
        *(f"  link: {link}" for link in links),
    ]
    if links and not settings.DEBUG:
        lines.append("  (tokens hidden because DEBUG is off; the file has the working links)")
    return "\n".join(lines)
