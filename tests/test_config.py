"""Start-up configuration: bad environment values stop start-up with a message naming the variable."""

from __future__ import annotations

import io
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from config import embedded_redis
from tests.conftest import ROOT
from tests.fakes.upstream import Reply, Upstream


def start_django(**env: str) -> subprocess.CompletedProcess:
    base = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PAPERBOX_VAR_DIR": "/tmp/pb-config-test",
    }
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_starts_on_embedded_defaults_in_debug():
    result = start_django(DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_missing_secret_key_without_debug_names_it():
    result = start_django()
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


PRODUCTION = {"SECRET_KEY": "production-like-key", "SITE_URL": "https://papers.example.org"}


def run_django(code: str, **env: str) -> subprocess.CompletedProcess:
    """Start Django with exactly `env` (no DEBUG unless given) and run `code`."""
    base = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PAPERBOX_VAR_DIR": "/tmp/pb-config-test",
    }
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup()\n{code}"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_missing_site_url_without_debug_names_it():
    result = start_django(SECRET_KEY="production-like-key", SENDGRID_API_KEY="SG.x")
    assert result.returncode != 0
    assert "SITE_URL is not set: it is required when DEBUG is off" in result.stderr


def test_no_email_provider_without_debug_stops_naming_both_choices():
    result = start_django(**PRODUCTION)
    assert result.returncode != 0
    assert "SENDGRID_API_KEY is not set, so Paperbox cannot send email" in result.stderr
    assert "EMAIL_OUTBOX=true" in result.stderr


@pytest.mark.parametrize(
    ("env", "backend"),
    [
        ({**PRODUCTION, "EMAIL_OUTBOX": "true"}, "newsletter.delivery.outbox.OutboxBackend"),
        ({**PRODUCTION, "SENDGRID_API_KEY": "SG.x"}, "newsletter.delivery.sendgrid.SendGridBackend"),
        ({**PRODUCTION, "SENDGRID_API_KEY": "SG.x", "EMAIL_OUTBOX": "true"}, "newsletter.delivery.sendgrid.SendGridBackend"),
        ({"DEBUG": "true"}, "newsletter.delivery.outbox.OutboxBackend"),
        ({"DEBUG": "true", "SENDGRID_API_KEY": "SG.x"}, "newsletter.delivery.sendgrid.SendGridBackend"),
    ],
)  # fmt: skip
def test_email_backend_is_sendgrid_with_a_key_and_the_outbox_only_when_chosen_or_debugging(env, backend):
    result = run_django("from django.conf import settings; print(settings.EMAIL_BACKEND)", **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == backend


def test_email_outbox_false_in_debug_without_a_key_stops():
    result = start_django(DEBUG="true", EMAIL_OUTBOX="false")
    assert result.returncode != 0
    assert "SENDGRID_API_KEY is not set" in result.stderr


def test_site_url_defaults_to_localhost_in_debug_only():
    result = run_django("from django.conf import settings; print(settings.SITE_URL)", DEBUG="true")
    assert result.stdout.strip() == "http://localhost:8000", result.stderr


def sign_with(key: str, salt: str) -> str:
    code = f"from django.core import signing; print(signing.dumps({{'k': 'ab', 'v': 1}}, salt={salt!r}, compress=True))"
    result = run_django(code, **{**PRODUCTION, "EMAIL_OUTBOX": "true", "SECRET_KEY": key})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def verify_with(token: str, salt: str, **env: str) -> subprocess.CompletedProcess:
    code = f"from django.core import signing; print(signing.loads({token!r}, salt={salt!r}))"
    return run_django(code, **{**PRODUCTION, "EMAIL_OUTBOX": "true", **env})


@pytest.mark.parametrize("salt", ["paperbox.newsletter.manage", "paperbox.newsletter.unsubscribe"])
def test_links_signed_with_the_old_key_work_after_a_secret_key_rotation(salt):
    old_key, new_key = "old-key-" + "x" * 40, "new-key-" + "y" * 40
    token = sign_with(old_key, salt)

    rotated = verify_with(token, salt, SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=f"some-older-key, {old_key}")
    forgotten = verify_with(token, salt, SECRET_KEY=new_key)

    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.strip() == "{'k': 'ab', 'v': 1}"
    assert forgotten.returncode != 0
    assert "BadSignature" in forgotten.stderr


def test_trusted_proxies_are_read_as_networks():
    result = run_django(
        "from django.conf import settings; print(' '.join(map(str, settings.TRUSTED_PROXIES)))",
        DEBUG="true",
        TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/8,fd00::/8",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["127.0.0.1/32", "10.0.0.0/8", "fd00::/8"]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DEBUG", "maybe", "DEBUG='maybe': expected one of true/false"),
        ("SENDGRID_API_HOST", "api.sendgrid.com", "SENDGRID_API_HOST='api.sendgrid.com': expected a URL"),
        ("SITE_URL", "ftp://example.org", "SITE_URL='ftp://example.org': expected a URL"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL='localhost:6379': expected a URL"),
        ("PAPER_SOURCES", "hf,twitter", "PAPER_SOURCES: unknown value(s) twitter"),
        ("ARXIV_CATEGORIES", "cs.AI,not a category", "ARXIV_CATEGORIES: bad value(s) not a category"),
        ("SENDGRID_WEBHOOK_MAX_AGE", "-5", "SENDGRID_WEBHOOK_MAX_AGE='-5': expected a number of at least 0"),
        ("DATABASE_URL", "mysqlx://nowhere", "DATABASE_URL='mysqlx://nowhere'"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL='LOUD': expected one of DEBUG, INFO"),
        ("DEFAULT_FROM_EMAIL", "Paperbox", "DEFAULT_FROM_EMAIL='Paperbox': expected an address"),
        ("EMAIL_OUTBOX", "sometimes", "EMAIL_OUTBOX='sometimes': expected one of true/false"),
        ("TRUSTED_PROXIES", "10.0.0.0/8,proxy.local", "TRUSTED_PROXIES: 'proxy.local' is not an IP address"),
    ],
)
def test_bad_value_stops_startup_naming_the_variable(variable, value, expected):
    result = start_django(**{"DEBUG": "true", variable: value})
    assert result.returncode != 0
    assert expected in result.stderr


def test_redis_url_on_a_unix_socket_serves_both_the_cache_and_the_celery_broker():
    socket_dir = Path(tempfile.mkdtemp(prefix="pb-", dir="/tmp"))  # short: socket paths max ~100 bytes
    server = embedded_redis.start(socket_dir / "redis.sock")
    check = (
        "import django; django.setup()\n"
        "from django.core.cache import cache; cache.set('probe', 'cached')\n"
        "from config.celery import app\n"
        "with app.connection_for_write() as broker: broker.ensure_connection(max_retries=1)\n"
        "print(cache.get('probe'), app.conf.broker_url)"
    )
    try:
        result = subprocess.run(
            [sys.executable, "-c", check],
            cwd=ROOT,
            env={
                "PATH": "/usr/bin:/bin",
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "PAPERBOX_VAR_DIR": "/tmp/pb-config-test",
                "DEBUG": "true",
                "REDIS_URL": f"unix://{socket_dir}/redis.sock",
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(socket_dir, ignore_errors=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["cached", f"redis+socket://{socket_dir}/redis.sock"]


def test_celery_worker_process_answers_on_the_broker(celery_worker_process):
    from config.celery import app

    replies = app.control.ping(timeout=5)
    assert replies, celery_worker_process.log()[-2000:]


def test_beat_schedule_names_only_registered_tasks(celery_worker_process):
    from config.celery import app

    registered = app.control.inspect(timeout=5).registered() or {}
    names = {name.split(" ")[0] for tasks in registered.values() for name in tasks}
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert scheduled <= names, f"scheduled but not registered: {scheduled - names}"


def test_procfile_commands_exist():
    from django.core.management import get_commands

    procfile = (ROOT / "Procfile").read_text()
    for command in ("embedded_redis", "wait_for_redis", "wait_for_web"):
        assert f"python manage.py {command}" in procfile
        assert get_commands().get(command) == "config"


def test_wait_for_redis_returns_once_redis_answers():
    out = io.StringIO()
    call_command("wait_for_redis", timeout=5, stdout=out)
    assert out.getvalue().startswith("Redis answers at ")


def test_wait_for_redis_gives_up_with_a_clear_message(settings, tmp_path):
    settings.CACHE_REDIS_URL = f"unix://{tmp_path}/nobody.sock"
    with pytest.raises(CommandError, match=r"Redis at unix://.*nobody.sock did not answer within 0s"):
        call_command("wait_for_redis", timeout=0.3)


def test_wait_for_redis_never_prints_the_password(settings):
    settings.CACHE_REDIS_URL = "redis://paperbox:s3cret@127.0.0.1:1/0"
    with pytest.raises(CommandError) as caught:
        call_command("wait_for_redis", timeout=0.1)
    assert "s3cret" not in str(caught.value)
    assert "redis://paperbox:***@127.0.0.1:1/0" in str(caught.value)


def test_wait_for_web_prints_the_address_to_open_once_the_server_answers(settings):
    settings.SITE_URL = "http://localhost:8123"
    with Upstream() as server:
        server.script("/", Reply(status=503), Reply(status=200, body=b"signup page"))
        out = io.StringIO()
        call_command("wait_for_web", port=int(server.base_url.rsplit(":", 1)[1]), timeout=30, stdout=out)

    assert out.getvalue() == "Paperbox is running: open http://localhost:8123/\n"
    seen = server.requests_to("/")
    assert len(seen) == 2  # a 503 is not "running": it asked again
    assert seen[-1].headers["Host"] == "localhost:8123"  # as a browser opening SITE_URL would


def test_wait_for_web_gives_up_when_nothing_answers():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nobody listens there
    with pytest.raises(CommandError, match=f"did not answer on http://127.0.0.1:{port}/ within 0s"):
        call_command("wait_for_web", port=port, timeout=0.3)
