"""Writing embeddings: which papers need one, and embedding them in batches.

A paper needs a vector when it has none, when its vector came from another model, or when its
title or abstract changed since. Fetches touch many papers only to update upvotes, so the text is
compared by digest (PaperEmbedding.text_hash) before anything is embedded again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from papers.embeddings.model import MODEL_NAME, embed_texts
from papers.embeddings.vectors import vector_to_bytes
from papers.models import Paper, PaperEmbedding

DEFAULT_BATCH_SIZE = 64


@dataclass(frozen=True)
class EmbedProgress:
    embedded: int = 0  # vectors computed and stored
    unchanged: int = 0  # papers checked whose text had not changed
    more: bool = False  # stopped at the limit with papers still waiting

    @property
    def done(self) -> int:
        return self.embedded + self.unchanged

    def add(self, *, embedded: int, unchanged: int) -> EmbedProgress:
        return EmbedProgress(self.embedded + embedded, self.unchanged + unchanged, self.more)


def paper_text(title: str, abstract: str) -> str:
    """The text a paper is embedded from: its title, then its abstract."""
    return f"{title.strip()}\n{abstract.strip()}".strip()


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def papers_needing_embedding() -> QuerySet[Paper]:
    """Papers without a vector of the current model, or changed since their text was last checked."""
    stale = ~Q(embedding__model=MODEL_NAME) | Q(updated_at__gt=F("embedding__checked_at"))
    return Paper.objects.filter(stale).order_by("pk")


def papers_embed_stale(
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    limit: int | None = None,
    on_batch: Callable[[EmbedProgress], None] | None = None,
) -> EmbedProgress:
    """Embed every paper that needs it (at most `limit`), `batch_size` at a time, in id order.

    Safe to run twice at once or to stop at any point: each batch is stored on its own, and a
    paper embedded already is only checked again.
    """
    progress, last_id = EmbedProgress(), 0
    while limit is None or progress.done < limit:
        size = batch_size if limit is None else min(batch_size, limit - progress.done)
        # By id from where the last batch ended: every run ends, even if papers keep changing.
        ids = list(papers_needing_embedding().filter(pk__gt=last_id).values_list("pk", flat=True)[:size])
        if not ids:
            return progress
        progress = progress.add(**papers_embed(paper_ids=ids))
        last_id = ids[-1]
        if on_batch:
            on_batch(progress)
    more = papers_needing_embedding().filter(pk__gt=last_id).exists()
    return EmbedProgress(progress.embedded, progress.unchanged, more)


def papers_embed(*, paper_ids: list[int]) -> dict[str, int]:
    """Embed these papers unless their stored vector matches their text; counts of each."""
    # The time before the text is read: a paper changed while we embed is newer than this and
    # is checked again by the next run, instead of keeping a vector of its old text.
    checked_at = timezone.now()
    texts = {pk: paper_text(title, abstract) for pk, title, abstract in _titles_and_abstracts(paper_ids)}
    stored = dict(
        PaperEmbedding.objects.filter(paper_id__in=texts, model=MODEL_NAME).values_list(
            "paper_id", "text_hash"
        )
    )
    unchanged = {pk for pk, text in texts.items() if stored.get(pk) == text_hash(text)}
    PaperEmbedding.objects.filter(paper_id__in=unchanged).update(checked_at=checked_at)
    changed = [pk for pk in texts if pk not in unchanged]
    vectors = embed_texts([texts[pk] for pk in changed])
    rows = [
        PaperEmbedding(
            paper_id=pk,
            model=MODEL_NAME,
            vector=vector_to_bytes(vector),
            text_hash=text_hash(texts[pk]),
            created_at=timezone.now(),
            checked_at=checked_at,
        )
        for pk, vector in zip(changed, vectors, strict=True)
    ]
    PaperEmbedding.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["paper"],
        update_fields=["model", "vector", "text_hash", "created_at", "checked_at"],
    )
    return {"embedded": len(rows), "unchanged": len(unchanged)}


def _titles_and_abstracts(paper_ids: list[int]) -> list[tuple[int, str, str]]:
    return list(Paper.objects.filter(pk__in=paper_ids).order_by("pk").values_list("pk", "title", "abstract"))
