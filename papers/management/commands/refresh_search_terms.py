"""Rewrite the search box's pre-filter terms after an upgrade changed the matcher's tokenizer."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from papers.services import papers_refresh_search_terms


class Command(BaseCommand):
    help = (
        "Recompute Paper.search_terms where another version of the tokenizer wrote them. Search is "
        "correct without it, but reads every stale paper until it has run."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = papers_refresh_search_terms(progress=lambda done: self.stdout.write(f"{done:,} papers…"))
        self.stdout.write(f"Refreshed the search terms of {count:,} papers.")
