"""Python's cyclic garbage collector paused while matching builds many small objects.

Planning and reading digests allocate millions of small objects (syntax trees, tokens, Matches) that
form no reference cycles, so the collector has nothing to free in them. Left on, their allocations
trigger collections that rescan everything alive — with a million subscriber records among it — and
cost more than the work itself (measured: compiling 60,000 interests 1.56 s with it, 0.88 s without).
Reference counting still frees everything as usual; the collector resumes afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
