"""Gunicorn settings for Paperbox: `gunicorn -c config/gunicorn.py config.wsgi --bind HOST:PORT`.

Command-line options override what is set here (the Procfile passes --bind and --workers).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from gunicorn import glogging

from config.redaction import redact_path, redact_query, redact_url

# The request line and every atom that can hold a URL: email links carry signed tokens in their
# paths, and an access log must not become a list of working links to subscribers' accounts.
URL_ATOMS: dict[str, Callable[[str], str]] = {
    "U": redact_path,
    "q": redact_query,
    "f": redact_url,
    "{referer}i": redact_url,
    "{raw_uri}e": redact_url,
    "{path_info}e": redact_path,
    "{query_string}e": redact_query,
    "{http_referer}e": redact_url,
    "{request_uri}e": redact_url,
}


class TokenRedactingLogger(glogging.Logger):
    """Gunicorn's logger, with tokens in URLs replaced by [token] in the access log."""

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: dt.timedelta) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["r"] = " ".join(
            [environ["REQUEST_METHOD"], redact_url(environ["RAW_URI"]), environ["SERVER_PROTOCOL"]]
        )
        for name, redact in URL_ATOMS.items():
            if isinstance(atoms.get(name), str):
                atoms[name] = redact(atoms[name])
        return atoms


logger_class = TokenRedactingLogger
accesslog = "-"
# Gunicorn's runtime control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl),
# which two servers on one machine (a second checkout, the test suite) would fight over; unused here.
control_socket_disable = True
