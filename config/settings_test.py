"""Settings for the test suite: the real settings, with a throwaway SECRET_KEY, a SITE_URL and the outbox.

DEBUG stays off, as in production, so the variables it would otherwise default are set here (and
inherited by the worker processes tests start; a test that sets SENDGRID_API_KEY still gets SendGrid).

Everything else (DATABASE_URL, REDIS_URL) still comes from the environment, so CI runs the
suite against PostgreSQL and Redis and a fresh machine runs it on the embedded defaults.
"""

import os

os.environ.setdefault("SECRET_KEY", "insecure-test-only-key")
os.environ.setdefault("SITE_URL", "http://testserver")
os.environ.setdefault("EMAIL_OUTBOX", "true")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
