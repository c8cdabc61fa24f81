"""The feedback's tables. They belong to the newsletter app (newsletter/models.py imports them, so
Django registers them and `from newsletter.models import Rating` works as for every other model)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class Direction(models.IntegerChoices):
    MORE = 1, "More like this"
    LESS = -1, "Less like this"

    @property
    def slug(self) -> str:
        """The word of the link's URL: /rate/<token>/more/."""
        return self.name.lower()

    @classmethod
    def from_slug(cls, slug: str) -> Direction:
        return cls[slug.upper()]


class Rating(models.Model):
    """A reader's "more like this" (+1) or "less like this" (-1) about one paper; one per paper."""

    Direction = Direction

    subscriber = models.ForeignKey("newsletter.Subscriber", on_delete=models.CASCADE, related_name="ratings")
    paper = models.ForeignKey("papers.Paper", on_delete=models.CASCADE, related_name="+")
    value = models.SmallIntegerField(choices=Direction.choices)
    # The digest whose link was followed; kept when that digest is pruned from history.
    digest = models.ForeignKey(
        "newsletter.Digest", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["subscriber_id", "-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "paper"], name="rating_once_per_paper"),
            models.CheckConstraint(condition=Q(value__in=Direction.values), name="rating_value_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.subscriber_id} {self.get_value_display()} {self.paper_id}"


class TasteModel(models.Model):
    """A reader's taste: a linear classifier over paper embeddings, trained on their ratings
    (newsletter/feedback/taste.py). `model` names the embedding it was trained on: a model trained
    on another embedding's vectors means nothing and is not used."""

    subscriber = models.OneToOneField(
        "newsletter.Subscriber", on_delete=models.CASCADE, primary_key=True, related_name="taste_model"
    )
    weights = models.BinaryField(help_text="float32, one per embedding dimension.")
    bias = models.FloatField()
    ratings_count = models.PositiveIntegerField(help_text="Ratings it was trained on.")
    # What it was trained from (ratings and embedding model), so a retraining that would learn the
    # same thing is skipped.
    fingerprint = models.CharField(max_length=64)
    model = models.CharField(max_length=64, help_text="The embedding model of the vectors.")
    trained_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"taste of {self.subscriber_id} ({self.ratings_count} ratings)"
