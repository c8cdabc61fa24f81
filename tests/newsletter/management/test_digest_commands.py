from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from newsletter.models import Digest, DigestItem
from tests.fakes.sendgrid import Reply
from tests.newsletter.digests.test_planning import make_papers, make_subscriber
from tests.newsletter.digests.test_sending import fake  # noqa: F401 - the fake SendGrid fixture


@pytest.fixture
def papers(db):
    return make_papers(first_seen_at=timezone.now() - timedelta(hours=1))


def not_due(email: str):
    # 23:00 in a zone where it is rarely 23:00 right now would be flaky; weekly on another weekday is not.
    other_day = (timezone.now().weekday() + 3) % 7
    return make_subscriber(email, frequency="weekly", weekday=other_day, time_zone="UTC", send_hour=0)


def test_send_digests_now_plans_and_sends_with_progress(papers, fake, capsys):  # noqa: F811
    not_due("ada@example.com")
    not_due("alan@example.com")

    call_command("send_digests", "--now")

    out = capsys.readouterr().out
    assert "Planned 2 digest(s)" in out
    assert "sent 2/2" in out
    assert "Sent 2 digest(s), 0 failed" in out
    assert len(fake.accepted) == 2
    assert set(Digest.objects.values_list("status", flat=True)) == {"sent"}


def test_send_digests_without_now_respects_the_send_hour(papers, fake, capsys):  # noqa: F811
    not_due("ada@example.com")

    call_command("send_digests")

    assert "Planned 0 digest(s)" in capsys.readouterr().out
    assert fake.accepted == []


def test_send_digests_for_one_email(papers, fake):  # noqa: F811
    not_due("ada@example.com")
    not_due("alan@example.com")

    call_command("send_digests", "--now", "--email", "ALAN@example.com")

    assert [body["personalizations"][0]["to"][0]["email"] for body in fake.accepted] == ["alan@example.com"]


def test_dry_run_renders_but_sends_and_writes_nothing(papers, fake, capsys):  # noqa: F811
    not_due("ada@example.com")

    call_command("send_digests", "--now", "--dry-run")

    out = capsys.readouterr().out
    assert re.search(r"ada@example.com: Paperbox · 5 papers on diffusion · week of \d+ [A-Z][a-z]{2}\n", out)
    assert "Dry run: 1 digest(s) would be sent" in out
    assert fake.requests == 0
    assert (Digest.objects.count(), DigestItem.objects.count()) == (0, 0)


def test_send_digests_stops_with_a_clear_error_on_a_bad_key(papers, fake):  # noqa: F811
    not_due("ada@example.com")
    fake.default = Reply(401)

    with pytest.raises(CommandError, match="SENDGRID_API_KEY"):
        call_command("send_digests", "--now")
    assert Digest.objects.get().status == "planned"


def test_preview_digest_writes_the_next_digest_to_a_file(papers, settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path
    not_due("ada@example.com")

    call_command("preview_digest", "ada@example.com")

    path = Path(capsys.readouterr().out.strip())
    assert path.parent == tmp_path / "previews"
    html = path.read_text()
    assert "5 new papers matching your interests" in html
    assert "https://huggingface.co/papers/" in html
    assert (
        path.with_suffix(".txt")
        .read_text()
        .startswith("Subject: Paperbox · 5 papers on diffusion · week of ")
    )
    assert Digest.objects.count() == 0  # a preview saves nothing


def test_preview_digest_opens_a_browser_when_asked(papers, settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    opened = []
    monkeypatch.setattr("webbrowser.open", opened.append)  # the one thing a test machine cannot do
    not_due("ada@example.com")

    call_command("preview_digest", "ada@example.com", "--open")

    assert opened and opened[0].startswith("file://")


def test_preview_digest_explains_unknown_or_inactive_addresses(papers):
    make_subscriber("paused@example.com", status="paused")
    with pytest.raises(CommandError, match="No subscriber"):
        call_command("preview_digest", "nobody@example.com")
    with pytest.raises(CommandError, match="paused, not active"):
        call_command("preview_digest", "paused@example.com")
