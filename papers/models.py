from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils import timezone

from papers.fields import SearchTermsField


class Paper(models.Model):
    """One arXiv paper, merged from every source that has seen it."""

    # Without the version suffix: 2401.12345v2 and 2401.12345 are the same paper.
    arxiv_id = models.CharField(max_length=32, unique=True)
    title = models.TextField()
    abstract = models.TextField(blank=True)
    authors = models.JSONField(default=list, blank=True, help_text="Author names, in paper order.")
    published_at = models.DateTimeField(null=True, blank=True, help_text="First published on arXiv.")
    featured_on = models.DateField(
        null=True, blank=True, help_text="The day it was on Hugging Face Daily Papers."
    )
    upvotes = models.PositiveIntegerField(default=0)
    comment_count = models.PositiveIntegerField(default=0)
    github_repo = models.URLField(max_length=500, blank=True)
    github_stars = models.PositiveIntegerField(null=True, blank=True)
    project_page = models.URLField(max_length=500, blank=True)
    thumbnail = models.URLField(max_length=500, blank=True)
    ai_summary = models.TextField(blank=True)
    ai_keywords = models.JSONField(default=list, blank=True)
    categories = models.JSONField(default=list, blank=True, help_text="arXiv categories, primary first.")
    sources = models.JSONField(default=list, blank=True, help_text="Sources that have seen this paper.")
    first_seen_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Derived from title, abstract, AI keywords and authors by papers.search (never typed by anyone):
    # every word form the matcher could look up, for the search box's pre-filter.
    search_terms = SearchTermsField(blank=True, default=list, editable=False)
    # Which tokenizer wrote search_terms: rows written by another one are never pre-filtered out.
    search_terms_version = models.CharField(max_length=16, blank=True, default="", editable=False)

    class Meta:
        ordering = ["-featured_on", "-upvotes", "-published_at"]
        indexes = [
            # The daily page: one day's papers by upvotes.
            models.Index(fields=["featured_on", "-upvotes"], name="paper_day_upvotes_idx"),
            # The matcher and arXiv-only days: papers published since a date.
            models.Index(fields=["published_at"], name="paper_published_idx"),
            # arXiv-only papers (never featured) have their day from published_at: the daily
            # page and its previous/next links read only these rows, so index only these rows.
            models.Index(
                fields=["published_at"],
                condition=Q(featured_on__isnull=True),
                name="paper_unfeatured_published_idx",
            ),
            # The planner: papers that arrived since the last digest.
            models.Index(fields=["first_seen_at"], name="paper_first_seen_idx"),
            # The search pre-filter reads rows with stale search_terms (normally none) by range.
            models.Index(fields=["search_terms_version"], name="paper_search_version_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(arxiv_id=""), name="paper_arxiv_id_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.arxiv_id}: {self.title[:80]}"

    @property
    def news_day(self) -> dt.date | None:
        return news_day(featured_on=self.featured_on, published_at=self.published_at)

    @property
    def hf_url(self) -> str:
        return f"https://huggingface.co/papers/{self.arxiv_id}"

    @property
    def arxiv_url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.arxiv_id}"


def news_day(*, featured_on: dt.date | None, published_at: dt.datetime | None) -> dt.date | None:
    """The day a paper was news: featured on Hugging Face, else published on arXiv (its UTC date,
    the site's time zone). Recency in digests and the day a page files a paper under both use it.

    A paper featured today may have been on arXiv for weeks; readers count it as today's news.
    """
    return featured_on or (published_at.date() if published_at else None)


class FetchRun(models.Model):
    """One fetch of one source for one target (a date, or a date and an arXiv category)."""

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    source = models.CharField(max_length=20)
    target = models.CharField(max_length=100, help_text="The date, and category for arXiv.")
    url = models.URLField(max_length=500, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    fetched_count = models.PositiveIntegerField(default=0)
    new_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["source", "-started_at"], name="fetchrun_source_started_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["running", "succeeded", "failed"]), name="fetchrun_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.target} ({self.status})"


class PaperEmbedding(models.Model):
    """A paper's sentence embedding (papers.embeddings): float32 bytes, unit length."""

    paper = models.OneToOneField(Paper, primary_key=True, on_delete=models.CASCADE, related_name="embedding")
    # Which model (and cut) made the vector: vectors of different models are never compared.
    model = models.CharField(max_length=64)
    vector = models.BinaryField()
    # A digest of the text the vector was made from: a fetch that changes only upvotes
    # leaves it equal, and the paper is not embedded again.
    text_hash = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)
    # When the paper's text was last compared with text_hash: papers updated since are checked again.
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The similar-papers matrix notices new vectors by the latest created_at.
            models.Index(fields=["created_at"], name="paperembedding_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.model} embedding of paper {self.paper_id}"
