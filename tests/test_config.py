"""Start-up configuration: bad environment values stop start-up with a message naming the variable."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from config import embedded_redis
from tests.conftest import ROOT


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
    assert "python manage.py embedded_redis" in procfile
    assert get_commands().get("embedded_redis") == "config"
