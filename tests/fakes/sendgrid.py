"""A loopback fake of SendGrid's `POST /v3/mail/send`, validating against SendGrid's own OpenAPI specs.

    with FakeSendGrid(api_key="SG.test") as fake:
        # settings.SENDGRID_API_HOST = fake.url
        ...
        assert fake.invalid == []
        assert fake.accepted[0]["subject"] == "..."

Every request body is validated (unless `validate=False`) against the mail/send request schema of
both official specs (tests/fixtures/sendgrid/, see PROVENANCE.md); an invalid body is recorded in
`.invalid` even when a scripted reply answers the request, so a test can always assert there was none.

Scripting: `fake.script(Reply(429, headers=...), Hang(5))` queues behaviours consumed one per request;
then requests get the normal treatment (auth, validation, 202). `fake.default = Reply(401)` makes
every request (after the scripted ones) get that behaviour. A Reply without a body gets SendGrid's
documented error body for its status. `fake.latency = 0.05` delays every answer (a real API's round
trip), so concurrent clients really overlap; `.max_in_flight` says how many requests were ever being
answered at once.

Connections: `.connections` counts the TCP connections accepted, and each request in `.received`
(kept with the bodies) names the connection it came on, so a test can see whether a client reuses
connections. `drop_idle_connections()` closes the idle ones, as a server does after its keep-alive
timeout.

Used by tests and by benchmarks/bench_delivery.py, so it is built for throughput: a pre-compiled
validator, HTTP/1.1 keep-alive, daemon threads, no logging.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import copy
import itertools
import json
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

SPEC_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "sendgrid"
OLD_SPEC = SPEC_DIR / "sendgrid-oai" / "spec" / "paths" / "mail_send" / "mail_send.json"
NEW_SPEC = SPEC_DIR / "twilio-sendgrid-oai" / "tsg_mail_v3.json"
MAIL_SEND_PATH = "/v3/mail/send"

# The documented bodies (the newer spec's examples, with JSON null where it wrote the string
# "null"; 429 from SendGrid's rate-limit docs, as neither spec declares it).
DOCUMENTED_ERRORS = {
    400: "invalid request",
    401: "authorization required",
    403: "access forbidden",
    404: "not found",
    413: "content too large",
    429: "too many requests",
    500: "internal server error",
    503: "service unavailable",
}

# The spec's `headers` description: "You may not override the following headers".
RESERVED_HEADERS = frozenset(
    h.lower()
    for h in [
        "x-sg-id",
        "x-sg-eid",
        "received",
        "dkim-signature",
        "Content-Type",
        "Content-Transfer-Encoding",
        "To",
        "From",
        "Subject",
        "Reply-To",
        "CC",
        "BCC",
    ]
)


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any = None  # dict/list (sent as JSON), str/bytes (sent as is), or None (documented body)
    headers: dict[str, str] | None = None


@dataclass(frozen=True)
class Hang:
    """Read the request, then say nothing for `seconds` and close the connection."""

    seconds: float


@dataclass(frozen=True)
class Received:
    """One request as it arrived: the request target, the headers and the raw body bytes."""

    connection: int  # 1 for the first TCP connection accepted, 2 for the next…
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Invalid:
    """A request body the specs reject, with the SendGrid-shaped errors the fake answered."""

    body: Any
    errors: list[dict[str, Any]] = field(default_factory=list)


def error_body(status: int, message: str | None = None, field_name: str | None = None) -> dict:
    text = message or DOCUMENTED_ERRORS.get(status, "error")
    return {"errors": [{"field": field_name, "message": text}]}


# --- The schema ---------------------------------------------------------------------------


def _load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _pointer(document: Any, pointer: str) -> Any:
    node = document
    for part in pointer.lstrip("/").split("/"):
        if part:
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _inline_refs(node: Any, *, base: Path, document: Any) -> Any:
    """Replace every `$ref` (to another file or inside this one) with the schema it points to.

    The mail/send schemas are not recursive, so plain inlining terminates and leaves jsonschema
    one self-contained schema to compile.
    """
    if isinstance(node, list):
        return [_inline_refs(item, base=base, document=document) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target_file, _, pointer = node["$ref"].partition("#")
        if target_file:
            path = (base.parent / target_file).resolve()
            target_document = _load_json(path)
        else:
            path, target_document = base, document
        return _inline_refs(_pointer(target_document, pointer), base=path, document=target_document)
    return {key: _inline_refs(value, base=base, document=document) for key, value in node.items()}


def _patch_quirks(schema: dict) -> dict:
    schema = copy.deepcopy(schema)
    # Both specs type top-level custom_args as a string, but SendGrid's API and every SDK
    # (sendgrid 6.12.5's Mail().get() included) send an object of string values.
    schema["properties"]["custom_args"] = {"type": "object", "additionalProperties": {"type": "string"}}
    return schema


def mail_send_schemas() -> list[dict]:
    """The request schemas of the older (sendgrid-oai) and newer (twilio) spec, refs inlined."""
    old = _load_json(OLD_SPEC)
    old_body = old["mail_send"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    new = _load_json(NEW_SPEC)
    new_body = new["components"]["requestBodies"]["PostMailSend"]["content"]["application/json"]["schema"]
    return [
        _patch_quirks(_inline_refs(old_body, base=OLD_SPEC, document=old)),
        _patch_quirks(_inline_refs(new_body, base=NEW_SPEC, document=new)),
    ]


# jsonschema's own "email" check only looks for an "@"; SendGrid refuses more than that.
_EMAIL = re.compile(r"^[^@\s<>(),;:\"]+@[^@\s<>(),;:\"]+$")
FORMAT_CHECKER = jsonschema.FormatChecker()
FORMAT_CHECKER.checks("email")(lambda value: not isinstance(value, str) or bool(_EMAIL.match(value)))

_VALIDATORS: list[jsonschema.Draft4Validator] = []
_VALIDATORS_LOCK = threading.Lock()


def validators() -> list[jsonschema.Draft4Validator]:
    """Compiled once per process (OpenAPI 3.0 schemas are a Draft 4 dialect)."""
    with _VALIDATORS_LOCK:
        if not _VALIDATORS:
            for schema in mail_send_schemas():
                jsonschema.Draft4Validator.check_schema(schema)
                _VALIDATORS.append(jsonschema.Draft4Validator(schema, format_checker=FORMAT_CHECKER))
    return _VALIDATORS


def validate_mail_send(body: Any) -> list[dict[str, Any]]:
    """SendGrid-shaped errors (`{"field", "message"}`) for a request body; [] when it is valid."""
    errors: dict[tuple[str | None, str], dict] = {}
    for validator in validators():
        for error in validator.iter_errors(body):
            item = _error_item(error)
            errors.setdefault((item["field"], item["message"]), item)
    if isinstance(body, dict) and isinstance(body.get("headers"), dict):
        for name in body["headers"]:
            if name.lower() in RESERVED_HEADERS:
                item = {"field": f"headers.{name}", "message": f"the header {name!r} is reserved"}
                errors.setdefault((item["field"], item["message"]), item)
    return list(errors.values())


def _error_item(error: jsonschema.ValidationError) -> dict[str, Any]:
    path = [str(part) for part in error.absolute_path]
    if error.validator == "required":
        missing = re.match(r"'([^']+)'", error.message)
        if missing:
            path.append(missing.group(1))
    return {"field": ".".join(path) or None, "message": error.message}


# --- The server ---------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients that reuse connections can
    disable_nagle_algorithm = True
    server: _Server

    connection_number = 0

    def log_message(self, format: str, *args: Any) -> None:  # quiet: benchmarks send thousands
        pass

    def setup(self) -> None:
        super().setup()
        self.connection_number = self.server.fake._connected(self)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._disconnected(self)

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.fake._handle_counted(self, raw)

    def do_GET(self) -> None:
        self.send(404, error_body(404))

    def send(self, status: int, body: Any = b"", headers: dict[str, str] | None = None) -> None:
        if isinstance(body, dict | list):
            data = json.dumps(body).encode()
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body or b""
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    fake: FakeSendGrid


class FakeSendGrid:
    def __init__(
        self, *, api_key: str = "SG.test-key", validate: bool = True, keep_bodies: bool = True
    ) -> None:
        self.api_key = api_key
        self.validate = validate
        # keep_bodies=False only counts what was accepted: 100,000 digest bodies would hold gigabytes.
        self.keep_bodies = keep_bodies
        self.default: Reply | Hang | None = None
        self.accepted: list[Any] = []
        self.accepted_message_ids: list[str] = []
        self.accepted_count = 0
        self.invalid: list[Invalid] = []
        self.requests = 0
        self.received: list[Received] = []
        self.latency = 0.0
        self.max_in_flight = 0
        self.connections = 0
        self._in_flight = 0
        self._open: dict[_Handler, bool] = {}  # each open connection: is a request being answered?
        self._closed = threading.Condition(threading.Lock())
        self._script: collections.deque[Reply | Hang] = collections.deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        if validate:
            validators()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeSendGrid is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeSendGrid:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._stopping.clear()
        self._thread = threading.Thread(
            # A short poll interval so stop() (which waits for the loop to notice) is quick.
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-sendgrid",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes any Hang
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            # A server that goes away takes its kept-alive connections with it (the handler
            # threads are daemons: without this they would go on answering on the old port).
            with self._closed:
                handlers = list(self._open)
            self._close_connections(handlers, timeout=10)
            self._thread.join(timeout=10)
            self._server = None

    def __enter__(self) -> FakeSendGrid:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def script(self, *behaviours: Reply | Hang) -> None:
        with self._lock:
            self._script.extend(behaviours)

    def _next_behaviour(self) -> Reply | Hang | None:
        with self._lock:
            self.requests += 1
            return self._script.popleft() if self._script else self.default

    def drop_idle_connections(self, *, timeout: float = 5.0) -> int:
        """Close every connection waiting for its next request, as SendGrid does after its
        keep-alive timeout; returns how many, once their handlers have noticed.

        Waits (up to `timeout`) for answers being written to finish first: a client may read its
        answer before the handler thread is done with the request.
        """
        with self._closed:
            self._closed.wait_for(lambda: not any(self._open.values()), timeout)
            idle = [handler for handler, busy in self._open.items() if not busy]
        self._close_connections(idle, timeout=timeout)
        return len(idle)

    def _close_connections(self, handlers: list[_Handler], *, timeout: float) -> None:
        with self._closed:
            for handler in handlers:
                with contextlib.suppress(OSError):  # the client may have closed it already
                    handler.connection.shutdown(socket.SHUT_RDWR)  # the client sees EOF at once
            if not self._closed.wait_for(lambda: not any(h in self._open for h in handlers), timeout):
                raise TimeoutError("the closed connections' handlers did not finish")

    def _connected(self, handler: _Handler) -> int:
        with self._closed:
            self.connections += 1
            self._open[handler] = False
            return self.connections

    def _disconnected(self, handler: _Handler) -> None:
        with self._closed:
            self._open.pop(handler, None)
            self._closed.notify_all()

    def _handle_counted(self, handler: _Handler, raw: bytes) -> None:
        with self._closed:
            self._open[handler] = True
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            if self.keep_bodies:
                self.received.append(
                    Received(handler.connection_number, handler.path, dict(handler.headers.items()), raw)
                )
        try:
            if self.latency:
                self._stopping.wait(self.latency)
            self._handle(handler, raw)
        finally:
            with self._lock:
                self._in_flight -= 1
            with self._closed:
                if handler in self._open:
                    self._open[handler] = False
                self._closed.notify_all()

    def _handle(self, handler: _Handler, raw: bytes) -> None:
        behaviour = self._next_behaviour()
        if handler.path.split("?")[0] != MAIL_SEND_PATH:
            handler.send(404, error_body(404))
            return
        body, errors = self._check_body(raw)
        if isinstance(behaviour, Hang):
            self._stopping.wait(behaviour.seconds)
            handler.close_connection = True
            return
        if isinstance(behaviour, Reply):
            body_out = error_body(behaviour.status) if behaviour.body is None else behaviour.body
            handler.send(behaviour.status, body_out if behaviour.status >= 300 else b"", behaviour.headers)
            return
        if handler.headers.get("Authorization") != f"Bearer {self.api_key}":
            handler.send(401, error_body(401))
        elif errors:
            handler.send(400, {"errors": errors})
        else:
            handler.send(202, b"", {"X-Message-Id": self._accept(body)})

    def _check_body(self, raw: bytes) -> tuple[Any, list[dict]]:
        """The parsed body and its errors; an invalid body is recorded in `.invalid`."""
        try:
            body = json.loads(raw)
        except ValueError as error:
            body, errors = raw, [{"field": None, "message": f"Bad Request: the body is not JSON ({error})"}]
        else:
            errors = validate_mail_send(body) if self.validate else []
        if errors:
            with self._lock:
                self.invalid.append(Invalid(body=body, errors=errors))
        return body, errors

    def _accept(self, body: Any) -> str:
        # SendGrid's ids look like "W2_eEF4pQ0m0dH5lFGZsYQ"; unique is what matters here.
        message_id = f"fake-{next(self._ids)}-{uuid.uuid4().hex[:12]}"
        with self._lock:
            self.accepted_count += 1
            if self.keep_bodies:
                self.accepted.append(body)
                self.accepted_message_ids.append(message_id)
        return message_id


# --- The Event Webhook's signing side -------------------------------------------------------


class WebhookSigner:
    """Signs Event Webhook requests as SendGrid does: ECDSA P-256 / SHA-256 over timestamp + body.

    `.public_key` is what SendGrid shows in its settings (base64 DER SubjectPublicKeyInfo), the
    value for SENDGRID_WEBHOOK_PUBLIC_KEY.
    """

    def __init__(self) -> None:
        self._private_key = ec.generate_private_key(ec.SECP256R1())

    @property
    def public_key(self) -> str:
        der = self._private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode("ascii")

    def signature(self, body: bytes, timestamp: str) -> str:
        signed = self._private_key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signed).decode("ascii")

    def headers(self, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        """HTTP headers for a request carrying `body` (Django test client: pass as `headers=`)."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        return {
            "X-Twilio-Email-Event-Webhook-Signature": self.signature(body, stamp),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        }
