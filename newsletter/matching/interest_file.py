"""Millions of `subscriber_id<TAB>interest` lines into an InterestTable, at the speed of numpy.

A per-line Python loop costs seconds per million lines (each line a string, a dict lookup and an int
parse). Here every step is a numpy operation over the file's bytes:
  - lines and their first tab are found by searching for the newline and tab bytes;
  - an id is checked (digits, optionally surrounded by spaces) and its value accumulated digit by
    digit, for all lines at once;
  - each text is named by the hash of its bytes (one C call per line) and the codes come from one
    sort of the hashes; only one line per distinct text is decoded into a Python string.
If two different texts ever shared a hash (a second key of length, first and last bytes tells),
the reader falls back to an exact dictionary, so a collision can cost time but never a wrong result.
"""

from __future__ import annotations

import numpy as np

from .interests import InterestTable

NEWLINE, TAB, SPACE, CR = 10, 9, 32, 13
MAX_ID_DIGITS = 18  # fits an int64


class InterestFileError(ValueError):
    """A line that is not `subscriber_id<TAB>interest`; `line` is its 1-based number."""

    def __init__(self, line: int) -> None:
        super().__init__(f"line {line}: expected subscriber_id<TAB>interest")
        self.line = line


def read_interest_table(data: bytes, *, top_k: int) -> InterestTable:
    """The table of the lines in `data` (UTF-8), subscribers in first-appearance order, each row's
    texts in file order. Blank lines are skipped; raises InterestFileError, UnicodeDecodeError."""
    data.decode("utf-8")  # the whole file must be text; this raises with the offset if it is not
    if data and not data.endswith(b"\n"):
        data += b"\n"
    buffer = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buffer == NEWLINE)
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    tabs = _first_tabs(buffer, starts, ends)
    keep = ~_blank(data, starts, ends, tabs)
    ids = _ids(buffer, starts[keep], tabs[keep], first_line=np.flatnonzero(keep))
    texts, codes = _texts(data, buffer, tabs[keep] + 1, ends[keep])
    return _grouped(ids, codes, texts, top_k)


def _first_tabs(buffer: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Position of each line's first tab, or its end when it has none."""
    tabs = np.append(np.flatnonzero(buffer == TAB), len(buffer))
    return np.minimum(tabs[np.searchsorted(tabs, starts)], ends)


def _blank(data: bytes, starts: np.ndarray, ends: np.ndarray, tabs: np.ndarray) -> np.ndarray:
    """Lines with no tab that hold only spaces (to skip); raises on a line with no tab and some text."""
    blank = np.zeros(len(starts), dtype=bool)
    for line in np.flatnonzero(tabs == ends).tolist():  # few: lines without a tab are blank or wrong
        if data[starts[line] : ends[line]].strip():
            raise InterestFileError(line + 1)
        blank[line] = True
    return blank


def _ids(buffer: np.ndarray, starts: np.ndarray, tabs: np.ndarray, *, first_line: np.ndarray) -> np.ndarray:
    """Each line's id, from the bytes before its tab: digits, optionally with spaces around them."""
    widths = tabs - starts
    widest = max(int(widths.max(initial=0)), 1)
    if widest > MAX_ID_DIGITS + 8:
        raise InterestFileError(int(first_line[np.argmax(widths > MAX_ID_DIGITS + 8)]) + 1)
    inside = np.arange(widest)[None, :] < widths[:, None]
    field = _windows(buffer, widest)[starts]
    digit = inside & (field >= 48) & (field <= 57)
    count = digit.sum(axis=1)
    # One run of digits: a digit run starts exactly once (spaces may surround it, nothing else).
    run_starts = digit[:, 0].astype(np.int64) + (digit[:, 1:] & ~digit[:, :-1]).sum(axis=1)
    fits = (count >= 1) & (count <= MAX_ID_DIGITS) & (run_starts == 1)
    fits &= ((digit | (field == SPACE)) | ~inside).all(axis=1)
    if not fits.all():
        raise InterestFileError(int(first_line[np.argmin(fits)]) + 1)
    values = np.zeros(len(starts), dtype=np.int64)
    for column in range(widest):
        values = np.where(digit[:, column], values * 10 + (field[:, column].astype(np.int64) - 48), values)
    return values


def _texts(
    data: bytes, buffer: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[list[str], np.ndarray]:
    """The distinct texts (one decoded line each) and every line's code into them."""
    # Python's own hash of each text's bytes: one C call per line, far cheaper than a dictionary of
    # millions of keys. Lines with equal hashes are then checked to agree on a second key (length,
    # first and last bytes): if two different texts ever shared a hash, fall back to being exact.
    first_hash = np.fromiter(
        (hash(data[start:end]) for start, end in zip(starts.tolist(), ends.tolist(), strict=True)),
        dtype=np.int64,
        count=len(starts),
    )
    _, first_line, codes = np.unique(first_hash, return_index=True, return_inverse=True)
    codes = codes.ravel()
    check = _second_key(buffer, starts, ends)
    if not np.array_equal(check, check[first_line][codes]):
        return _texts_exactly(data, starts, ends)
    texts = [
        data[start:end].decode("utf-8")
        for start, end in zip(starts[first_line].tolist(), ends[first_line].tolist(), strict=True)
    ]
    return texts, codes.astype(np.int32)


def _second_key(buffer: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Length, first 8 and last 8 bytes of each text (bytes past a short text zeroed), as three columns."""
    lengths = ends - starts
    past_end = np.arange(8)[None, :] >= lengths[:, None]
    head = _windows(buffer, 8)[starts]
    tail = _windows(buffer, 8)[np.maximum(ends - 8, starts)]
    head[past_end] = 0
    tail[past_end] = 0
    return np.stack([lengths, head.view(np.int64).ravel(), tail.view(np.int64).ravel()], axis=1)


def _windows(buffer: np.ndarray, width: int) -> np.ndarray:
    """A view of the `width` bytes at every offset (the buffer padded with zeros at the end):
    indexing it with offsets copies only those bytes, with no index matrix."""
    return np.lib.stride_tricks.sliding_window_view(np.append(buffer, np.zeros(width, np.uint8)), width)


def _texts_exactly(data: bytes, starts: np.ndarray, ends: np.ndarray) -> tuple[list[str], np.ndarray]:
    code_of: dict[bytes, int] = {}
    spans = zip(starts.tolist(), ends.tolist(), strict=True)
    codes = [code_of.setdefault(data[start:end], len(code_of)) for start, end in spans]
    return [text.decode("utf-8") for text in code_of], np.array(codes, dtype=np.int32)


def _grouped(ids: np.ndarray, codes: np.ndarray, texts: list[str], top_k: int) -> InterestTable:
    """Rows grouped by subscriber in first-appearance order; each row's texts in file order."""
    unique_ids, first_line, row_by_unique = np.unique(ids, return_index=True, return_inverse=True)
    appearance = np.argsort(first_line, kind="stable")
    row_of_unique = np.empty(len(unique_ids), dtype=np.int64)
    row_of_unique[appearance] = np.arange(len(unique_ids))
    rows = row_of_unique[row_by_unique.ravel()]
    lines = np.argsort(rows, kind="stable")
    indptr = np.zeros(len(unique_ids) + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=len(unique_ids)), out=indptr[1:])
    return InterestTable(
        ids=unique_ids[appearance],
        top_k=np.full(len(unique_ids), top_k, dtype=np.int64),
        texts=texts,
        indptr=indptr,
        codes=codes[lines].astype(np.int32),
    )
