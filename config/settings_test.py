"""Settings for the test suite: the real settings, with a throwaway SECRET_KEY.

Everything else (DATABASE_URL, REDIS_URL) still comes from the environment, so CI runs the
suite against PostgreSQL and Redis and a fresh machine runs it on the embedded defaults.
"""

import os

os.environ.setdefault("SECRET_KEY", "insecure-test-only-key")
os.environ.setdefault("SITE_URL", "http://testserver")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
