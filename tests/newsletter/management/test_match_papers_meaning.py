"""match_papers with `~` interests and --like papers: one reader's profile, best first, --top, --json
with the line that picked each paper, and the embedding cache of --text-file (real model)."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command

from tests.newsletter.relevance_data import corpus_rows, make_embedded_papers, profile, relevant_arxiv_ids

SPLATTING = profile("gaussian-splatting")


@pytest.fixture
def papers_file(tmp_path):
    path = tmp_path / "papers.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in corpus_rows(100)))
    return path


def run(*args: str) -> tuple[list[dict], str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("match_papers", *args, stdout=out, stderr=err)
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()], err.getvalue()


def judged_relevant(ids: list[str]) -> int:
    return sum(1 for paper_id in ids if SPLATTING["judgments"].get(paper_id, 0) >= 1)


def test_a_profile_from_a_file_is_ranked_by_meaning_and_keywords_and_cached(papers_file, tmp_path):
    cache = tmp_path / "cache"
    args = (
        "--text-file", str(papers_file), "--cache-dir", str(cache),
        "--interest", '"gaussian splatting"', "--interest", "~ " + SPLATTING["descriptions"][0],
        "--like", "seed-0053", "--top", "6", "--json",
    )  # fmt: skip
    results, err = run(*args)
    assert "Embedded 100 papers (0 from" in err
    assert len(results) == 6
    assert set(results[0]) == {"id", "score", "interests", "terms", "line", "source"}
    assert "seed-0053" not in {result["id"] for result in results}
    assert judged_relevant([result["id"] for result in results]) >= 5
    assert all(result["line"] in result["interests"] for result in results)
    assert {result["source"] for result in results} <= {"keyword", "meaning", "example"}
    scores = [result["score"] for result in results]
    assert scores == sorted(scores, reverse=True)

    [stored] = list(cache.iterdir())
    modified = stored.stat().st_mtime_ns
    again, err = run(*args)
    assert "Embedded 0 papers (100 from" in err
    assert again == results and stored.stat().st_mtime_ns == modified


def test_keyword_lines_alone_print_what_they_printed_before_cut_by_top(papers_file):
    everything, _ = run("--text-file", str(papers_file), "--interest", "splat*", "--json")
    top, _ = run("--text-file", str(papers_file), "--interest", "splat*", "--json", "--top", "2")
    assert top == everything[:2] and {r["source"] for r in everything} == {"keyword"}
    assert all(r["line"] == "splat*" for r in everything)


def test_an_unknown_example_or_a_bad_description_is_named(papers_file, tmp_path):
    with pytest.raises(CommandError, match="--like seed-9999: no paper with this id in the file"):
        run("--text-file", str(papers_file), "--cache-dir", str(tmp_path), "--like", "seed-9999")
    with pytest.raises(CommandError, match="a description is needed after “~”"):
        run("--text-file", str(papers_file), "--interest", "~")


@pytest.mark.django_db
def test_database_papers_take_an_arxiv_id(tmp_path):
    papers = make_embedded_papers(limit=80, first_seen_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC))
    results, _ = run("--like", "2611.00053", "--top", "4", "--json")
    ids = {paper.id: arxiv_id for arxiv_id, paper in papers.items()}
    found = [ids[result["id"]] for result in results]
    assert "2611.00053" not in found and len(found) == 4
    assert len(set(found) & relevant_arxiv_ids("gaussian-splatting")) >= 3
    assert {result["line"] for result in results} == {"like:2611.00053"}
    with pytest.raises(CommandError, match=r"--like 2401\.1: '2401\.1' is not an arXiv id"):
        run("--like", "2401.1")
    with pytest.raises(CommandError, match=r"--like 2401\.99999: no paper 2401\.99999 in the database"):
        run("--like", "2401.99999")
