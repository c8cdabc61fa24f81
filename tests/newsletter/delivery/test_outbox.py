from __future__ import annotations

import email
import logging
from email import policy

import pytest
from django.core import signing
from django.core.mail import EmailMultiAlternatives

from newsletter.delivery.outbox import OutboxBackend


def make_message(n: int = 0) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=f"Confirm {n} — ünïcode",
        body=f"Open http://testserver/confirm/abc:{n}/ to confirm.\nOr https://example.org/x?y=1.",
        from_email="Paperbox <papers@localhost>",
        to=["ada@example.org"],
        headers={"List-Unsubscribe": "<http://testserver/unsubscribe/t/>"},
    )
    message.attach_alternative(
        f"<p><a href='http://testserver/confirm/abc:{n}/'>Confirm</a></p>", "text/html"
    )
    return message


def test_writes_one_parseable_eml_per_message(tmp_path):
    backend = OutboxBackend(outbox_dir=tmp_path)
    assert backend.send_messages([make_message(1), make_message(2)]) == 2
    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 2
    assert not list(tmp_path.glob(".*.tmp"))
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert parsed["To"] == "ada@example.org"
    assert parsed["Subject"] == "Confirm 1 — ünïcode"
    assert parsed["List-Unsubscribe"] == "<http://testserver/unsubscribe/t/>"
    assert "http://testserver/confirm/abc:1/" in parsed.get_body(("plain",)).get_content()
    assert "Confirm</a>" in parsed.get_body(("html",)).get_content()


def test_logs_a_summary_with_the_links_in_debug(tmp_path, caplog, settings):
    settings.DEBUG = True
    with caplog.at_level(logging.INFO, logger="newsletter.outbox"):
        OutboxBackend(outbox_dir=tmp_path).send_messages([make_message(3)])
    text = caplog.text
    assert "to: ada@example.org" in text
    assert "subject: Confirm 3 — ünïcode" in text
    assert "link: http://testserver/confirm/abc:3/" in text
    assert "link: https://example.org/x?y=1." in text  # a trailing dot is legal in a URL; kept as is


def test_outside_debug_the_summary_hides_link_tokens_and_the_file_keeps_them(tmp_path, caplog, settings):
    settings.DEBUG = False
    token = signing.dumps({"k": "0f" * 16, "v": 1}, salt="paperbox.newsletter.confirm", compress=True)
    message = EmailMultiAlternatives(
        subject="Confirm",
        body=f"Confirm: http://testserver/confirm/{token}/\nPapers: http://testserver/papers/2401.00001/",
        to=["ada@example.org"],
    )

    with caplog.at_level(logging.INFO, logger="newsletter.outbox"):
        OutboxBackend(outbox_dir=tmp_path).send_messages([message])

    assert token not in caplog.text
    assert "link: http://testserver/confirm/[token]/" in caplog.text
    assert "link: http://testserver/papers/2401.00001/" in caplog.text  # nothing secret: kept
    assert "tokens hidden because DEBUG is off" in caplog.text
    (written,) = tmp_path.glob("*.eml")
    assert token in written.read_text()


def test_creates_the_outbox_directory(tmp_path):
    target = tmp_path / "var" / "outbox"
    OutboxBackend(outbox_dir=target).send_messages([make_message()])
    assert len(list(target.glob("*.eml"))) == 1


def test_defaults_to_settings_outbox_dir(tmp_path, settings):
    settings.OUTBOX_DIR = tmp_path
    OutboxBackend().send_messages([make_message()])
    assert len(list(tmp_path.glob("*.eml"))) == 1


def test_unwritable_outbox_raises_unless_fail_silently(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError):
        OutboxBackend(outbox_dir=blocker).send_messages([make_message()])
    assert OutboxBackend(outbox_dir=blocker, fail_silently=True).send_messages([make_message()]) == 0
