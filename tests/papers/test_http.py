"""The fetch client over real HTTP, against a scripted loopback server."""

from __future__ import annotations

import errno
import itertools
import os
import socket
import threading
import time
from datetime import UTC, datetime

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from papers.http import FetchClient, RedisPacer, default_pause, retry_after_seconds, unreachable_reason
from papers.sources.errors import (
    ConnectionFailed,
    FetchError,
    FetchTimeout,
    HostUnreachable,
    ServerBusy,
    TransientFetchError,
    TruncatedBody,
)
from tests.fakes.upstream import Reply, Upstream, hf_api_body

PATH = "/api/daily_papers"


class RecordingSleep:
    """Really sleeps (the values are small) and remembers for how long."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        time.sleep(seconds)


@pytest.fixture
def upstream():
    with Upstream() as server:
        yield server


@pytest.fixture
def sleep():
    return RecordingSleep()


def make_client(sleep, **options) -> FetchClient:
    defaults = dict(
        connect_timeout=1.0, read_timeout=1.0, max_attempts=3, backoff_base=0.02, backoff_max=0.1,
        retry_after_max=0.3, pacer=RedisPacer(pause=lambda host: 0.0, sleep=sleep), sleep=sleep,
    )  # fmt: skip
    return FetchClient(**(defaults | options))


def test_get_returns_the_body_and_identifies_itself(upstream, sleep):
    upstream.script(PATH, Reply(body=hf_api_body(), headers={"Content-Type": "application/json"}))

    page = make_client(sleep).get(f"{upstream.base_url}{PATH}?date=2026-05-08")

    assert page.body == hf_api_body()
    assert (page.status, page.attempts) == (200, 1)
    seen = upstream.requests_to(PATH)[0]
    assert seen.query == "date=2026-05-08"
    assert seen.headers["User-Agent"] == "Paperbox/0.1 (+http://testserver; research digest)"
    assert sleep.calls == []


def test_get_waits_as_long_as_retry_after_says_then_retries(upstream, sleep):
    upstream.script(PATH, Reply(status=429, headers={"Retry-After": "0"}), Reply(body=b"[]"))
    client = make_client(sleep, retry_after_max=5.0, backoff_base=3.0)

    page = client.get(upstream.base_url + PATH)

    assert (page.body, page.attempts) == (b"[]", 2)
    assert sleep.calls == [0.0]  # Retry-After, not the 3-second backoff
    assert len(upstream.requests_to(PATH)) == 2


def test_get_caps_a_long_retry_after(upstream, sleep):
    upstream.script(PATH, Reply(status=429, headers={"Retry-After": "3600"}), Reply(body=b"[]"))

    assert make_client(sleep, retry_after_max=0.2).get(upstream.base_url + PATH).attempts == 2
    assert sleep.calls == [0.2]


def test_get_honours_retry_after_as_an_http_date(upstream, sleep):
    past = "Wed, 21 Oct 2015 07:28:00 GMT"
    upstream.script(PATH, Reply(status=503, headers={"Retry-After": past}), Reply(body=b"[]"))

    assert make_client(sleep, backoff_base=3.0).get(upstream.base_url + PATH).attempts == 2
    assert sleep.calls == [0.0]


def test_get_backs_off_exponentially_with_jitter_on_5xx(upstream, sleep):
    upstream.script(PATH, Reply(status=503), Reply(status=502), Reply(status=500), Reply(body=b"ok"))

    page = make_client(sleep, max_attempts=4, backoff_base=0.02, backoff_max=1.0).get(
        upstream.base_url + PATH
    )

    assert page.attempts == 4
    assert len(sleep.calls) == 3
    for attempt, delay in enumerate(sleep.calls, start=1):
        ceiling = 0.02 * 2 ** (attempt - 1)
        assert ceiling / 2 <= delay <= ceiling


def test_get_gives_up_after_the_last_attempt(upstream, sleep):
    upstream.script(PATH, Reply(status=503))

    with pytest.raises(ServerBusy, match=r"HTTP 503 \(gave up after 3 attempts\)") as caught:
        make_client(sleep).get(upstream.base_url + PATH)

    assert caught.value.status == 503
    assert caught.value.url == upstream.base_url + PATH
    assert len(upstream.requests_to(PATH)) == 3
    assert len(sleep.calls) == 2


def test_get_does_not_retry_a_client_error(upstream, sleep):
    upstream.script(PATH, Reply(status=404, body=b"no such day"))

    with pytest.raises(FetchError, match="HTTP 404") as caught:
        make_client(sleep).get(upstream.base_url + PATH)

    assert not isinstance(caught.value, TransientFetchError)
    assert len(upstream.requests_to(PATH)) == 1


def test_get_times_out_on_a_slow_answer_and_retries(upstream, sleep):
    upstream.script(PATH, Reply(body=b"late", delay=10.0), Reply(body=b"[]"))

    page = make_client(sleep, read_timeout=1.0).get(upstream.base_url + PATH)

    # A client that waited for the slow answer would have returned "late" at the first attempt.
    assert (page.body, page.attempts) == (b"[]", 2)


def test_get_reports_a_timeout_once_attempts_are_spent(upstream, sleep):
    upstream.script(PATH, Reply(body=b"late", delay=0.5))

    with pytest.raises(FetchTimeout, match=r"read 0.2s\) \(gave up after 2 attempts\)"):
        make_client(sleep, read_timeout=0.2, max_attempts=2).get(upstream.base_url + PATH)


def test_get_treats_a_truncated_body_as_an_error(upstream, sleep):
    upstream.script(PATH, Reply(body=hf_api_body(), truncate_to=1000))

    with pytest.raises(TruncatedBody, match=r"gave up after 2 attempts") as caught:
        make_client(sleep, max_attempts=2).get(upstream.base_url + PATH)

    assert "1000" in str(caught.value)


def test_get_retries_a_truncated_body(upstream, sleep):
    upstream.script(PATH, Reply(body=hf_api_body(), truncate_to=5000), Reply(body=hf_api_body()))

    page = make_client(sleep).get(upstream.base_url + PATH)

    assert page.body == hf_api_body()
    assert page.attempts == 2


def test_get_refuses_an_oversized_body(upstream, sleep):
    upstream.script(PATH, Reply(body=b"x" * 200_000))

    with pytest.raises(FetchError, match="body larger than 100000 bytes"):
        make_client(sleep, max_bytes=100_000).get(upstream.base_url + PATH)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again on return: nobody listens there


def test_get_fails_at_once_when_the_connection_is_refused(sleep):
    port = closed_port()

    with pytest.raises(
        HostUnreachable, match=rf"cannot reach 127.0.0.1:{port} \(connection refused\)"
    ) as caught:
        make_client(sleep, max_attempts=4).get(f"http://127.0.0.1:{port}/x")

    assert (caught.value.host, caught.value.reason) == (f"127.0.0.1:{port}", "connection refused")
    assert sleep.calls == []  # no backoff: nobody is there to answer a second time either


def test_get_fails_at_once_when_the_name_does_not_resolve(sleep):
    # .invalid never resolves (RFC 2606), online or not.
    with pytest.raises(
        HostUnreachable, match=r"cannot reach paperbox-offline.invalid \(name resolution failed\)"
    ):
        make_client(sleep, max_attempts=4).get("http://paperbox-offline.invalid/papers")

    assert sleep.calls == []


def test_get_still_retries_a_connection_dropped_without_an_answer(sleep):
    """Accepted, then closed before any answer (a restarting server): worth another try."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def drop_every_connection() -> None:
            for _ in range(2):
                connection, _ = listener.accept()
                connection.recv(65536)
                connection.close()

        dropper = threading.Thread(target=drop_every_connection, daemon=True)
        dropper.start()
        with pytest.raises(ConnectionFailed, match="gave up after 2 attempts") as caught:
            make_client(sleep, max_attempts=2).get(f"http://127.0.0.1:{port}/x")
        dropper.join(timeout=10)

    assert not isinstance(caught.value, HostUnreachable)
    assert len(sleep.calls) == 1


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (errno.ECONNREFUSED, "connection refused"),
        (errno.ENETUNREACH, "network unreachable"),
        (errno.EHOSTUNREACH, "host unreachable"),
        (errno.ECONNRESET, None),
    ],
)
def test_unreachable_reason_looks_through_the_wrapped_socket_error(code, reason):
    # The shape requests raises: ConnectionError(MaxRetryError(reason=NewConnectionError from OSError)).
    try:
        try:
            raise OSError(code, os.strerror(code))
        except OSError as socket_error:
            raise NewConnectionError(None, "Failed to establish a new connection") from socket_error
    except NewConnectionError as new_connection_error:
        error = requests.ConnectionError(MaxRetryError(None, "/x", reason=new_connection_error))

    assert unreachable_reason(error) == reason


def test_redis_pacer_spaces_requests_to_one_host_across_clients(upstream, sleep):
    """Two clients stand for two worker processes: the pause is shared through Redis."""
    upstream.script(PATH, Reply(body=b"[]"))
    first = make_client(sleep, pacer=RedisPacer(pause=lambda host: 0.25, sleep=sleep))
    second = make_client(sleep, pacer=RedisPacer(pause=lambda host: 0.25, sleep=sleep))

    first.get(upstream.base_url + PATH)
    second.get(upstream.base_url + PATH)
    first.get(upstream.base_url + PATH)

    times = [request.at for request in upstream.requests_to(PATH)]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(gaps) == 2
    assert all(gap >= 0.2 for gap in gaps), gaps


def test_redis_pacer_does_not_delay_other_hosts(sleep):
    pacer = RedisPacer(pause=lambda host: 5.0, sleep=sleep)
    pacer.wait("a.example")
    pacer.wait("b.example")
    assert sleep.calls == []  # every wait for a slot goes through `sleep`: there was none


def test_redis_pacer_without_redis_pauses_in_process_instead_of_failing(sleep, tmp_path):
    pacer = RedisPacer(redis_url=f"unix://{tmp_path}/no-redis.sock", pause=lambda host: 0.05, sleep=sleep)

    pacer.wait("arxiv.org")
    pacer.wait("arxiv.org")

    assert sleep.calls == [0.05, 0.05]


def test_default_pause_is_longer_for_arxiv():
    assert default_pause("export.arxiv.org") == default_pause("arxiv.org") == 3.0
    assert default_pause("huggingface.co") == 1.0
    assert default_pause("127.0.0.1") == 0.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("Sat, 21 Nov 2026 12:00:30 GMT", 30.0),
        ("Sat, 21 Nov 2026 11:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_seconds_reads_seconds_and_http_dates(value, expected):
    now = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds(value, now=now) == expected
