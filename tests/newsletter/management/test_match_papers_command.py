"""The match_papers command: its stable command-line interface over the matching engine."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command

from papers.models import Paper
from tests.conftest import FIXTURES

CORPUS = FIXTURES / "corpus" / "papers.jsonl"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("match_papers", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_text_file_json_lists_matching_papers_best_first_with_reasons():
    results = json_lines(run("--text-file", str(CORPUS), "--interest", '"gaussian splatting"', "--json"))
    ids = [result["id"] for result in results]
    # Titles that contain the phrase itself must all be found.
    assert {"seed-0053", "seed-0061", "seed-0068", "seed-0306"} <= set(ids)
    assert "seed-0001" not in ids  # an auditory LLM paper
    scores = [result["score"] for result in results]
    assert scores == sorted(scores, reverse=True)
    assert all(result["interests"] == ['"gaussian splatting"'] for result in results)
    assert all(any(term.lower().startswith("splat") for term in result["terms"]) for result in results)


def test_interests_are_reported_exactly_as_given():
    results = json_lines(
        run("--text-file", str(CORPUS), "--interest", "Gaussian  Splatting", "--interest", "LLMs", "--json")
    )
    given = {"Gaussian  Splatting", "LLMs"}
    assert results
    assert all(set(result["interests"]) <= given and result["interests"] for result in results)
    assert any("LLMs" in result["interests"] for result in results)


def test_plain_output_names_titles_and_counts():
    out = io.StringIO()
    err = io.StringIO()
    call_command(
        "match_papers",
        "--text-file",
        str(CORPUS),
        "--interest",
        '"gaussian splatting"',
        stdout=out,
        stderr=err,
    )
    assert "EVolSplat: Efficient Volume-based Gaussian Splatting" in out.getvalue()
    assert "papers matched." in err.getvalue()


@pytest.mark.django_db
def test_database_papers_filtered_by_since():
    Paper.objects.create(
        arxiv_id="2605.00001", title="Sparse autoencoders find features", featured_on=dt.date(2026, 5, 8)
    )
    Paper.objects.create(
        arxiv_id="2604.00001", title="Sparse autoencoders, older", featured_on=dt.date(2026, 4, 1)
    )
    Paper.objects.create(arxiv_id="2605.00002", title="Unrelated robotics", featured_on=dt.date(2026, 5, 8))
    results = json_lines(run("--interest", "sparse autoencoder", "--since", "2026-05-01", "--json"))
    matched = Paper.objects.filter(id__in=[r["id"] for r in results]).values_list("arxiv_id", flat=True)
    assert list(matched) == ["2605.00001"]
    everything = json_lines(run("--interest", "sparse autoencoder", "--json"))
    assert len(everything) == 2


def test_batch_mode_plans_top_k_per_subscriber(tmp_path):
    interests = tmp_path / "interests.tsv"
    interests.write_text(
        '1\t"gaussian splatting"\n1\tLLM agents\n2\tquantiz*\n3\tzzzzqqq nothing\n', encoding="utf-8"
    )
    results = json_lines(run("--text-file", str(CORPUS), "--interests-file", str(interests), "--top", "2"))
    by_subscriber = {result["subscriber"]: result["papers"] for result in results}
    assert set(by_subscriber) == {1, 2}
    assert all(1 <= len(papers) <= 2 for papers in by_subscriber.values())
    assert all(set(p["interests"]) <= {'"gaussian splatting"', "LLM agents"} for p in by_subscriber[1])


def test_batch_summary_prints_one_line_of_counts_and_timings(tmp_path):
    interests = tmp_path / "interests.tsv"
    interests.write_text("1\tdiffusion\n2\tdiffusion\n2\t-robot diffusion\n", encoding="utf-8")
    (summary,) = json_lines(
        run("--text-file", str(CORPUS), "--interests-file", str(interests), "--top", "3", "--summary")
    )
    assert summary["subscribers"] == 2
    assert summary["papers"] == 573
    assert summary["subscribers_with_papers"] == 2
    assert summary["results"] == 6
    assert summary["plan_seconds"] >= 0


def test_syntax_error_names_the_interest_and_position():
    with pytest.raises(CommandError, match=r"unclosed quote at \d+"):
        run("--text-file", str(CORPUS), "--interest", '"gaussian splatting')


def test_bad_arguments_give_clear_errors(tmp_path):
    with pytest.raises(CommandError, match="either --interest"):
        run("--text-file", str(CORPUS))
    with pytest.raises(CommandError, match="expected a date as YYYY-MM-DD"):
        run("--text-file", str(CORPUS), "--interest", "x", "--since", "yesterday")
    with pytest.raises(CommandError, match="Cannot read"):
        run("--text-file", str(tmp_path / "missing.jsonl"), "--interest", "x")
    broken = tmp_path / "broken.tsv"
    broken.write_text("not-a-number\tdiffusion\n", encoding="utf-8")
    with pytest.raises(CommandError, match="line 1: expected subscriber_id<TAB>interest"):
        run("--text-file", str(CORPUS), "--interests-file", str(broken))
    bad_papers = tmp_path / "bad.jsonl"
    bad_papers.write_text('{"title": "no id"}\n', encoding="utf-8")
    with pytest.raises(CommandError, match="line 1: not a paper record"):
        run("--text-file", str(bad_papers), "--interest", "x")


def test_batch_file_groups_interleaved_lines_by_subscriber_and_skips_blank_lines(tmp_path):
    from newsletter.management.commands.match_papers import read_interests_file

    interests = tmp_path / "interests.tsv"
    interests.write_text(
        "7\tdiffusion\n\n3\tLLMs\n7\tquantiz*\n  \n3\tdiffusion\n7\tdiffusion\n", encoding="utf-8"
    )
    table = read_interests_file(interests, top_k=4)
    assert table.ids.tolist() == [7, 3]  # the order subscribers first appear in
    assert [table.typed(row) for row in range(2)] == [
        ["diffusion", "quantiz*", "diffusion"],
        ["LLMs", "diffusion"],
    ]
    assert sorted(table.texts) == ["LLMs", "diffusion", "quantiz*"]  # each distinct text once
    assert table.top_k.tolist() == [4, 4]


def test_batch_file_errors_name_the_line_far_into_a_long_file(tmp_path):
    interests = tmp_path / "interests.tsv"
    lines = [f"{n}\tdiffusion" for n in range(1, 40)]
    for number, bad in ((34, "34 diffusion without a tab"), (12, "1 2\tdigits apart"), (7, "x7\tnot an id")):
        broken = list(lines)
        broken[number - 1] = bad
        interests.write_text("\n".join(broken) + "\n", encoding="utf-8")
        with pytest.raises(CommandError, match=rf"line {number}: expected subscriber_id<TAB>interest"):
            run("--text-file", str(CORPUS), "--interests-file", str(interests))
    interests.write_bytes(b"1\tdiffusion\n2\t\xff\xfe\n")
    with pytest.raises(CommandError, match="is not UTF-8 text"):
        run("--text-file", str(CORPUS), "--interests-file", str(interests))


def test_every_text_gets_its_own_code_even_when_texts_look_alike(tmp_path):
    from newsletter.management.commands.match_papers import read_interests_file

    # Same length, same first and last bytes, one byte apart; and texts shorter than 8 bytes.
    texts = ["abcdefghXijklmnop", "abcdefghYijklmnop", "rl", "RL", "rl ", " rl", "x" * 199]
    interests = tmp_path / "interests.tsv"
    interests.write_text("".join(f"{n}\t{text}\n" for n, text in enumerate(texts * 3, start=1)), "utf-8")
    table = read_interests_file(interests, top_k=1)
    assert sorted(table.texts) == sorted(texts)
    assert [table.typed(row) for row in range(len(table))] == [[text] for text in texts * 3]


def test_batch_mode_in_several_processes_prints_what_one_process_prints(tmp_path, monkeypatch):
    from newsletter.management.commands import match_papers

    topics = ["diffusion", "LLMs", "speech OR audio", '"gaussian splatting"', "quantiz*", "RL -robot*", "MoE"]
    interests = tmp_path / "interests.tsv"
    interests.write_text(
        "".join(f"{n}\t{topics[n % 7]}\n{n}\t{topics[n * 3 % 7]}\n" for n in range(1, 60)), encoding="utf-8"
    )
    monkeypatch.setattr(match_papers, "PARALLEL_FROM_TEXTS", 1)
    args = ("--text-file", str(CORPUS), "--interests-file", str(interests), "--top", "3")
    one = run(*args, "--processes", "1")
    assert json_lines(one) and run(*args, "--processes", "2") == one
