"""Embeddings of papers read from a file (match_papers --text-file), cached on disk by content.

A paper is keyed by the SHA-256 of the embedding model's name and the text it is embedded from
(papers.embeddings.paper_text), so an edited paper or another model is embedded again, and the same
paper in another file is not. One .npz file per model holds every key and vector; a run embeds only
what it lacks and rewrites the file once (to a temporary name, then renamed, so an interrupted run
leaves the previous cache whole).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from papers.embeddings import EMBEDDING_DIM, MODEL_NAME, embed_texts


class EmbeddingCache:
    def __init__(self, directory: Path) -> None:
        self.path = directory / f"{re.sub(r'[^A-Za-z0-9._-]+', '-', MODEL_NAME)}.npz"
        self.computed = 0  # texts embedded by this object (not found in the cache)
        self._known: dict[str, np.ndarray] = self._read()

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised row per text, in order; what the cache lacks is embedded and saved."""
        keys = [_key(text) for text in texts]
        missing = list(
            {key: text for key, text in zip(keys, texts, strict=True) if key not in self._known}.items()
        )
        if missing:
            embedded = embed_texts([text for _, text in missing])
            self._known.update((key, vector) for (key, _), vector in zip(missing, embedded, strict=True))
            self.computed += len(missing)
            self._write()
        if not keys:
            return np.empty((0, EMBEDDING_DIM), dtype=np.float32)
        return np.stack([self._known[key] for key in keys]).astype(np.float32)

    def _read(self) -> dict[str, np.ndarray]:
        try:
            with np.load(self.path) as stored:
                return dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError):
            return {}  # unreadable (another version, a truncated copy): rebuilt from scratch

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._known), dtype="U64")
        vectors = np.stack(list(self._known.values())).astype(np.float32)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".npz")
        try:
            with os.fdopen(handle, "wb") as file:
                np.savez(file, keys=keys, vectors=vectors)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _key(text: str) -> str:
    return hashlib.sha256(f"{MODEL_NAME}\n{text}".encode()).hexdigest()
