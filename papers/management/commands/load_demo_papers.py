"""Give a fresh install something to show: the bundled real Hugging Face day, if there are no papers.

`make run` calls it on every start; it does nothing once any paper exists. The papers are embedded
here (a few seconds), so their pages show similar papers before the worker has run at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from papers.embeddings.store import papers_embed_stale
from papers.models import Paper
from papers.services import papers_ingest, papers_refresh_search_terms
from papers.sources.hf_api import parse_daily_papers

DEMO_FILE = Path(__file__).resolve().parents[2] / "demo" / "daily_papers_2026-05-08.json"


class Command(BaseCommand):
    help = "Load the bundled demo papers (a real Hugging Face Daily Papers day) when there are none."

    def handle(self, *args: Any, **options: Any) -> None:
        existing = Paper.objects.count()
        if existing:
            self.stdout.write(f"{existing} papers exist already; demo papers not loaded.")
            return
        records = parse_daily_papers(DEMO_FILE.read_bytes(), url=str(DEMO_FILE))
        result = papers_ingest(records=records, source="hf-api")
        papers_refresh_search_terms()
        self.stdout.write(f"Loaded {result.new} demo papers (Hugging Face Daily Papers, 2026-05-08).")
        embedded = papers_embed_stale().embedded
        self.stdout.write(f"Embedded {embedded} demo papers for their similar papers.")
