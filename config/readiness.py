"""Is Redis up, does the web server answer: the checks `make run`'s processes wait on before starting."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

import redis
import requests


def redis_answers(url: str) -> bool:
    try:
        with redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2) as client:
            return bool(client.ping())
    except (redis.RedisError, OSError):
        return False


def web_answers(url: str, *, host: str) -> bool:
    """Any answer but a server error means the site is up (a redirect to HTTPS counts).

    `host` is sent as the Host header, as a browser opening SITE_URL would, so ALLOWED_HOSTS accepts it.
    """
    try:
        response = requests.get(url, headers={"Host": host}, timeout=5, allow_redirects=False)
    except requests.RequestException:
        return False
    return response.status_code < 500


def wait_for(check: Callable[[], bool], *, timeout: float, interval: float = 0.25) -> bool:
    """Poll `check` until it passes (True) or `timeout` seconds have gone by (False)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def printable_url(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username or ''}:***@{host}").geturl()
