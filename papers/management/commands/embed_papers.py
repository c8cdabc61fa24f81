"""Embed every paper that has no vector yet (or whose text changed): the backfill after an install
or upgrade. The worker does the same for new papers after each fetch and hourly."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from papers.embeddings.store import (
    DEFAULT_BATCH_SIZE,
    EmbedProgress,
    papers_embed_stale,
    papers_needing_embedding,
)

MAX_BATCH_SIZE = 10_000


class Command(BaseCommand):
    help = "Compute the sentence embedding of every paper that needs one, with progress."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Papers read, embedded and stored per step (default {DEFAULT_BATCH_SIZE}).",
        )

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise CommandError(f"--batch-size must be between 1 and {MAX_BATCH_SIZE:,}; got {batch_size}.")
        total = papers_needing_embedding().count()
        if not total:
            self.stdout.write("Every paper is embedded already.")
            return
        self.stdout.write(f"{total:,} papers to check or embed, {batch_size} at a time.")
        started = time.monotonic()

        def report(progress: EmbedProgress) -> None:
            rate = progress.embedded / max(time.monotonic() - started, 1e-9)
            self.stdout.write(f"{progress.done:,} of {total:,} papers ({rate:.1f} embedded per second)…")

        progress = papers_embed_stale(batch_size=batch_size, on_batch=report)
        seconds = time.monotonic() - started
        self.stdout.write(
            f"Embedded {progress.embedded:,} papers in {seconds:.1f} s"
            f" ({progress.unchanged:,} had not changed since their last embedding)."
        )
