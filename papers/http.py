"""The one HTTP client every paper source is fetched with.

- explicit connect and read timeouts on every request;
- a descriptive User-Agent (arXiv strips its listing for anonymous clients);
- bounded retries on 429, 5xx, timeouts, dropped connections and truncated bodies, with exponential
  backoff and full jitter, honouring `Retry-After` (seconds or an HTTP date), capped;
- no retries when the host cannot be reached at all (its name does not resolve, the connection is
  refused, no route to it): on a machine that is offline that is certain within milliseconds, and
  a minute of retries would only hide it;
- a polite pause between requests to the same host, shared by every worker process through Redis.

Why Redis for the pause: `fetch_latest` fans out one task per source and category, and the workers
pick them up at the same moment. A pause kept per process would still let N processes hit arXiv
at once (it answers 429 when hurried); one key per host, set with SET NX PX, spaces them all.

Delays go through the injectable `sleep`, so tests run the real code with small real values.
"""

from __future__ import annotations

import errno
import logging
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlsplit

import redis
import requests
from django.conf import settings
from urllib3.exceptions import NameResolutionError

from papers.sources.decoding import rfc2822_datetime
from papers.sources.errors import (
    ConnectionFailed,
    FetchError,
    FetchTimeout,
    HostUnreachable,
    ServerBusy,
    TransientFetchError,
    TruncatedBody,
)

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BODY_BYTES = 20 * 1024 * 1024
# arXiv asks robots for one request every three seconds; Hugging Face publishes no figure.
ARXIV_PAUSE = 3.0
DEFAULT_PAUSE = 1.0


def user_agent() -> str:
    return f"Paperbox/0.1 (+{settings.SITE_URL}; research digest)"


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def default_pause(host: str) -> float:
    if host in LOOPBACK_HOSTS:
        return 0.0  # a local mirror or test server: no one to be polite to
    return ARXIV_PAUSE if host == "arxiv.org" or host.endswith(".arxiv.org") else DEFAULT_PAUSE


@dataclass(frozen=True)
class FetchedPage:
    url: str
    status: int
    body: bytes
    attempts: int


class Pacer(Protocol):
    def wait(self, host: str) -> None: ...


class RedisPacer:
    """Lets one request per host through every `pause(host)` seconds, across all processes."""

    def __init__(
        self,
        *,
        redis_url: str | None = None,
        pause: Callable[[str], float] = default_pause,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = 120.0,
    ) -> None:
        self._redis_url = redis_url or settings.CACHE_REDIS_URL
        self._client: redis.Redis | None = None
        self.pause = pause
        self.sleep = sleep
        self.max_wait = max_wait

    def wait(self, host: str) -> None:
        pause_ms = int(self.pause(host) * 1000)
        if pause_ms <= 0:
            return
        try:
            self._wait_for_slot(host, pause_ms)
        except redis.RedisError as error:
            # `manage.py fetch_papers` by hand, without `make run`'s embedded Redis: still be
            # polite, with the whole pause in this process, rather than fail the fetch.
            logger.warning(
                "No Redis for pacing requests to %s (%s); pausing %d ms here", host, error, pause_ms
            )
            self.sleep(pause_ms / 1000)

    def _wait_for_slot(self, host: str, pause_ms: int) -> None:
        key = f"paperbox:pace:{host}"
        deadline = time.monotonic() + self.max_wait
        # Whoever sets the key owns the next slot; the key expires when the pause is over.
        while not self.client.set(key, b"1", px=pause_ms, nx=True):
            if time.monotonic() > deadline:
                logger.warning("Waited %.0fs for a request slot to %s; going ahead", self.max_wait, host)
                return
            remaining_ms = max(self.client.pttl(key), 5)
            self.sleep(remaining_ms / 1000 * (1 + random.random() / 10))

    @property
    def client(self) -> redis.Redis:
        if self._client is None:
            self._client = redis.Redis.from_url(self._redis_url, socket_timeout=5, socket_connect_timeout=5)
        return self._client


class FetchClient:
    def __init__(
        self,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 4,
        backoff_base: float = 2.0,
        backoff_max: float = 60.0,
        retry_after_max: float = 120.0,
        max_bytes: int = MAX_BODY_BYTES,
        pacer: Pacer | None = None,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        self.timeout = (connect_timeout, read_timeout)
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self.max_bytes = max_bytes
        self.pacer = pacer if pacer is not None else RedisPacer(sleep=sleep)
        self.sleep = sleep
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent()

    def get(self, url: str) -> FetchedPage:
        """The body of a 2xx answer; FetchError (or a TransientFetchError once retries are spent)."""
        host = urlsplit(url).hostname or ""
        for attempt in range(1, self.max_attempts + 1):
            self.pacer.wait(host)
            try:
                status, headers, body = self._exchange(url)
            except HostUnreachable:
                raise
            except TransientFetchError as error:
                failure, delay = error, self._backoff(attempt)
            else:
                if 200 <= status < 300:
                    return FetchedPage(url=url, status=status, body=body, attempts=attempt)
                if status not in RETRY_STATUSES:
                    raise FetchError(url, f"HTTP {status}", status=status)
                failure = ServerBusy(url, f"HTTP {status}", status=status)
                delay = self._retry_after(headers.get("Retry-After"))
                delay = self._backoff(attempt) if delay is None else delay
            if attempt == self.max_attempts:
                raise type(failure)(
                    url, f"{failure.message} (gave up after {attempt} attempts)", status=failure.status
                )
            logger.info(
                "%s: %s; attempt %d of %d in %.1fs",
                url,
                failure.message,
                attempt + 1,
                self.max_attempts,
                delay,
            )
            self.sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")

    def _exchange(self, url: str) -> tuple[int, requests.structures.CaseInsensitiveDict, bytes]:
        try:
            with self.session.get(url, timeout=self.timeout, stream=True) as response:
                return response.status_code, response.headers, self._read_body(response, url)
        except requests.Timeout:
            raise FetchTimeout(
                url, f"no answer within the timeouts (connect {self.timeout[0]}s, read {self.timeout[1]}s)"
            ) from None
        except requests.ConnectionError as error:
            reason = unreachable_reason(error)
            if reason is not None:
                host = urlsplit(url).netloc
                raise HostUnreachable(
                    url, f"cannot reach {host} ({reason})", host=host, reason=reason
                ) from None
            raise ConnectionFailed(url, f"connection failed: {error}") from None

    def _read_body(self, response: requests.Response, url: str) -> bytes:
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(
                        url, f"body larger than {self.max_bytes} bytes", status=response.status_code
                    )
                chunks.append(chunk)
        except requests.exceptions.ChunkedEncodingError as error:
            # urllib3 enforces Content-Length: an early close arrives here as IncompleteRead.
            raise TruncatedBody(url, f"body cut short after {size} bytes ({error})") from None
        body = b"".join(chunks)
        announced = response.headers.get("Content-Length", "")
        identity = response.headers.get("Content-Encoding", "identity") == "identity"
        if identity and announced.isdigit() and int(announced) != len(body):
            raise TruncatedBody(url, f"got {len(body)} of the {announced} bytes announced by Content-Length")
        return body

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return ceiling * (0.5 + random.random() / 2)  # jitter, so retrying workers do not stampede

    def _retry_after(self, value: str | None) -> float | None:
        seconds = retry_after_seconds(value, now=datetime.now(UTC))
        return None if seconds is None else min(seconds, self.retry_after_max)


UNREACHABLE_ERRNOS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTUNREACH: "host unreachable",
}


def unreachable_reason(error: BaseException) -> str | None:
    """Why a connection could not even be opened, or None for failures worth retrying.

    requests wraps urllib3's error, which wraps the socket's: look through the whole chain.
    A connect timeout is not here on purpose: a slow or congested network may answer next time.
    """
    for cause in _causes(error):
        if isinstance(cause, NameResolutionError | socket.gaierror):
            return "name resolution failed"
        if isinstance(cause, OSError) and cause.errno in UNREACHABLE_ERRNOS:
            return UNREACHABLE_ERRNOS[cause.errno]
    return None


def _causes(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    pending = [error]
    while pending:
        current = pending.pop()
        if any(current is known for known in seen):
            continue
        seen.append(current)
        linked = [getattr(current, "reason", None), current.__cause__, current.__context__, *current.args]
        pending.extend(item for item in linked if isinstance(item, BaseException))
    return seen


def retry_after_seconds(value: str | None, *, now: datetime) -> float | None:
    """`Retry-After: 120` or `Retry-After: Wed, 21 Oct 2026 07:28:00 GMT` → seconds from `now`."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    moment = rfc2822_datetime(value)
    if moment is None:
        return None
    return max(0.0, (moment - now).total_seconds())
