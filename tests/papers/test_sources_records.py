from __future__ import annotations

import json

import pytest

from papers.sources.errors import InvalidArxivId
from papers.sources.records import PaperRecord, clean_text, clean_url, count_or_none, normalize_arxiv_id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2401.12345", "2401.12345"),
        ("2401.12345v2", "2401.12345"),
        ("  arXiv:2604.21935v1 ", "2604.21935"),
        ("oai:arXiv.org:2604.21935v1", "2604.21935"),
        ("https://arxiv.org/abs/2301.00001v3", "2301.00001"),
        ("0704.0001", "0704.0001"),
        ("hep-th/9901001v2", "hep-th/9901001"),
        ("math.GT/0309136", "math.GT/0309136"),
    ],
)
def test_normalize_arxiv_id_strips_prefixes_and_versions(raw, expected):
    assert normalize_arxiv_id(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "v2", "2401.123", "2401.12345v", "not-an-id", "2401.12345/extra", "12345"]
)
def test_normalize_arxiv_id_rejects_what_is_not_an_id(raw):
    with pytest.raises(InvalidArxivId, match="not an arXiv id"):
        normalize_arxiv_id(raw)


def test_clean_url_drops_non_http_and_overlong_values():
    assert clean_url(" https://github.com/a/b ") == "https://github.com/a/b"
    assert clean_url("javascript:alert(1)") == ""
    assert clean_url("https://x.org/" + "a" * 500) == ""
    assert clean_url(None) == ""
    assert clean_url("https://github.com/a/b\x00") == ""  # PostgreSQL cannot store NUL


def test_clean_text_collapses_whitespace_and_drops_what_the_database_cannot_store():
    assert clean_text("  Deep\n\tlearning\x0bfor  all ") == "Deep learning for all"
    assert clean_text("Ti\x00tle\x07 with\x1b controls\x7f") == "Title with controls"
    assert clean_text("lone \ud800surrogate") == "lone surrogate"  # JSON allows it, UTF-8 does not
    assert clean_text("Ünïcode — “quotes” 深度") == "Ünïcode — “quotes” 深度"
    assert clean_text(None) == ""


def test_count_or_none_accepts_only_non_negative_integers():
    assert count_or_none(0) == 0
    assert count_or_none(86) == 86
    assert count_or_none(-1) is None
    assert count_or_none(True) is None
    assert count_or_none("86") is None
    assert count_or_none(2**31 - 1) == 2**31 - 1
    assert count_or_none(2**31) is None  # would not fit the integer column


def test_paper_record_to_dict_is_json_serializable():
    record = PaperRecord(
        arxiv_id="2401.12345", title="T", source="hf", published_at="2024-01-02T00:00:00+00:00"
    )
    assert json.loads(json.dumps(record.to_dict()))["published_at"] == "2024-01-02T00:00:00+00:00"
