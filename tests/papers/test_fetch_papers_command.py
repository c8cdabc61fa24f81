from __future__ import annotations

import io
import json
import socket
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from papers.models import FetchRun, Paper
from tests.conftest import ROOT, subprocess_env
from tests.fakes.upstream import (
    HF_CAPTURE,
    Reply,
    Upstream,
    arxiv_new_listing_html,
    arxiv_rss_body,
    hf_api_body,
    hf_page_html,
)

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("fetch_papers", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def upstream(settings):
    with Upstream() as server:
        settings.HF_BASE_URL = settings.ARXIV_RSS_BASE_URL = settings.ARXIV_BASE_URL = server.base_url
        yield server


def test_fetch_papers_dry_run_json_prints_one_paper_per_line_and_writes_nothing():
    out, err = run("--file", str(HF_CAPTURE), "--dry-run", "--json")

    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 37
    assert lines[0]["arxiv_id"] == "2605.05242"
    assert lines[0]["upvotes"] == 86
    assert lines[0]["featured_on"] == "2026-05-08"
    assert lines[0]["published_at"] == "2026-05-03T00:00:00+00:00"
    assert lines[0]["authors"][0] == "Zhuofeng Li"
    assert lines[0]["title"].startswith("Beyond Semantic Similarity")
    assert "37 papers" in err
    assert Paper.objects.count() == 0


def test_fetch_papers_file_recognises_a_saved_daily_papers_page(tmp_path):
    page = tmp_path / "2026-05-08.html"
    page.write_bytes(hf_page_html(blob=False))

    out, _ = run("--file", str(page), "--dry-run")

    assert len(out.splitlines()) == 37
    assert out.splitlines()[0].split()[:2] == ["2605.05242", "86"]


def test_fetch_papers_file_ingests_a_saved_listing(tmp_path):
    listing = tmp_path / "cs.HC-new.html"
    listing.write_bytes(arxiv_new_listing_html())

    out, _ = run("--file", str(listing), "--source", "arxiv-list", "--json")

    assert json.loads(out) == {"source": "arxiv-list", "target": str(listing), "fetched": 2, "new": 2,
                               "updated": 0, "unchanged": 0}  # fmt: skip
    assert sorted(Paper.objects.values_list("arxiv_id", flat=True)) == ["2301.00001", "2301.00002"]


def test_fetch_papers_fetches_one_source_over_http(upstream):
    upstream.script("/papers/date/2026-05-08", Reply(body=hf_page_html()))

    out, err = run("--source", "hf", "--date", "2026-05-08")

    assert out.strip() == "hf 2026-05-08: 37 fetched, 37 new, 0 updated, 0 unchanged"
    assert "[1/1] hf 2026-05-08" in err
    assert Paper.objects.count() == 37
    assert FetchRun.objects.get().status == FetchRun.Status.SUCCEEDED


def test_fetch_papers_runs_every_configured_source_and_reports_failures_at_the_end(upstream, settings):
    settings.PAPER_SOURCES = ["hf-api", "arxiv-rss"]
    settings.ARXIV_CATEGORIES = ["cs.AI", "cs.CL"]
    upstream.script("/api/daily_papers", Reply(body=hf_api_body()))
    upstream.script("/rss/cs.AI", Reply(status=404))
    upstream.script("/rss/cs.CL", Reply(body=arxiv_rss_body()))

    with pytest.raises(CommandError, match=r"1 of 3 fetches failed: arxiv-rss 2026-05-08 cs.AI"):
        run("--date", "2026-05-08")

    assert upstream.requests_to("/api/daily_papers")[0].query == "date=2026-05-08"
    assert Paper.objects.count() == 37 + 3
    assert FetchRun.objects.filter(status="succeeded").count() == 2


def test_fetch_papers_dry_run_over_http_records_nothing(upstream):
    upstream.script("/rss/cs.CL", Reply(body=arxiv_rss_body()))

    out, _ = run("--source", "arxiv-rss", "--category", "cs.CL", "--dry-run", "--json")

    assert [json.loads(line)["arxiv_id"] for line in out.splitlines()] == [
        "2604.21935",
        "2604.21936",
        "2604.21937",
    ]
    assert (Paper.objects.count(), FetchRun.objects.count()) == (0, 0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2026-13-01"], "--date 2026-13-01: expected a date as YYYY-MM-DD"),
        (
            ["--source", "twitter"],
            "--source twitter: unknown source; expected one of arxiv-list, arxiv-rss, hf, hf-api",
        ),
        (["--category", "cs AI"], "--category cs AI: expected an arXiv category"),
        (["--file", "/nonexistent/page.html"], "--file /nonexistent/page.html: cannot read it"),
    ],
)
def test_fetch_papers_rejects_bad_arguments_clearly(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_fetch_papers_file_that_no_parser_recognises_is_an_error(tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"hello")
    with pytest.raises(CommandError, match="cannot tell which source it is from; pass --source"):
        run("--file", str(junk))


def test_fetch_papers_file_that_does_not_parse_names_the_file(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_bytes(hf_api_body()[:5000])
    with pytest.raises(CommandError, match=rf"{broken}: response is not valid JSON"):
        run("--file", str(broken), "--source", "hf-api")
    assert Paper.objects.count() == 0


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below: nobody listens there
    return f"http://127.0.0.1:{port}"


@pytest.mark.django_db(transaction=True)  # the command runs in its own process and commits
@pytest.mark.parametrize(
    ("base_url", "reason"),
    [("http://paperbox-offline.invalid", "name resolution failed"), (None, "connection refused")],
)
def test_fetch_papers_offline_fails_at_once_with_one_line_per_source(base_url, reason):
    base_url = base_url or closed_port_url()
    host = base_url.removeprefix("http://")
    env = subprocess_env(
        HF_BASE_URL=base_url,
        ARXIV_RSS_BASE_URL=base_url,
        PAPER_SOURCES="hf,arxiv-rss",
        ARXIV_CATEGORIES="cs.AI,cs.CL,cs.LG",
    )

    # The real command, as a person types it. The timeout only stops a hung process; what proves
    # "at once" is below: not one retry was made.
    result = subprocess.run(
        [sys.executable, "manage.py", "fetch_papers", "--date", "2026-05-08"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert f"hf: cannot reach {host} ({reason}); check your network or HF_BASE_URL" in lines
    assert f"arxiv-rss: cannot reach {host} ({reason}); check your network or ARXIV_RSS_BASE_URL" in lines
    assert sum("cannot reach" in line for line in lines) == 2  # one per source, not one per category
    assert "attempt 2 of" not in result.stderr  # the client's retry line: there was none
    assert "4 of 4 fetches failed" in result.stderr
    runs = list(FetchRun.objects.order_by("pk").values_list("source", "status", "error"))
    assert [(source, status) for source, status, _ in runs] == [("hf", "failed"), ("arxiv-rss", "failed")]
    assert all(f"cannot reach {host} ({reason})" in error for _, _, error in runs)
