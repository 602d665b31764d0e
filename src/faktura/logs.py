"""Structured logs: one JSON object a line on stderr, for whatever collects container output.

Every line written while a request is handled carries that request's `request_id` (and its
`tenant_id` once authentication has chosen one), so the access line, a warning from deep in
a job and the client's error body can be joined. Nothing here logs headers or bodies; as a
second line of defence each line is scrubbed of anything shaped like a Faktura secret
(platform key, account token, webhook secret) or a bearer credential.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from contextvars import ContextVar
from typing import Any

#: Fields of the request being handled (request_id, tenant_id); a fresh dict per request.
REQUEST: ContextVar[dict[str, Any] | None] = ContextVar("faktura_request", default=None)

#: Attributes a caller may pass with `extra=` that become fields of the line.
FIELDS = ("method", "route", "path", "status", "duration_ms", "job", "job_id", "delivery_id")

_SECRET = re.compile(r"\b(fkp_|fkt_|whsec_)[A-Za-z0-9_\-]{6,}|(?i:\b(bearer)\s+)[^\s\"',]+")
#: The password of a connection URL (`postgresql://user:password@host`).
_URL_PASSWORD = re.compile(r"(://[^:/@\s\"]+:)[^@\s\"]+@")


def scrub(text: str) -> str:
    text = _SECRET.sub(lambda m: (m.group(1) or m.group(2) + " ") + "[redacted]", text)
    return _URL_PASSWORD.sub(r"\1[redacted]@", text)


def note(**fields: Any) -> None:
    """Add fields (tenant_id, ...) to every later log line of the current request."""
    current = REQUEST.get()
    if current is not None:
        current.update({k: str(v) for k, v in fields.items() if v is not None})


def request_id() -> str | None:
    """The id of the request being handled, if any."""
    fields = REQUEST.get()
    return fields.get("request_id") if fields else None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        out.update(REQUEST.get() or {})
        for name in FIELDS:
            if name in record.__dict__:
                out[name] = record.__dict__[name]
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return scrub(json.dumps(out, default=str, ensure_ascii=False))


def structured() -> bool:
    """Whether this process writes JSON lines (`configure_logging` ran)."""
    return any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers)


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for Faktura and the libraries under it (uvicorn, pgqueuer)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # faktura.access writes one line per request, with the route template and the request id.
    logging.getLogger("uvicorn.access").handlers[:] = []
    logging.getLogger("uvicorn.access").propagate = False
