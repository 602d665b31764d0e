"""Findings: what a check reports, in the shape the API returns.

A finding names the official rule id where one applies (`BR-CO-15`, `PEPPOL-EN16931-R010`),
or one of ours (`FK-*`), and points into the request JSON with a JSON Pointer so that a
client can highlight the field. Tests assert on rule ids, never on message text.
"""

from __future__ import annotations

from enum import Enum

import msgspec


class Severity(str, Enum):
    FATAL = "fatal"
    WARNING = "warning"


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    rule_id: str | None
    severity: Severity
    title: str
    detail: str
    pointer: str
    problem_type: str = "VALIDATION_ERROR"
    business_term: str | None = None

    @property
    def fatal(self) -> bool:
        return self.severity is Severity.FATAL


def pointer(*parts: str | int) -> str:
    """RFC 6901 JSON Pointer from path parts (escaping '~' and '/')."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def error_object(f: Finding) -> dict[str, object]:
    """The seed's error/warning object, plus the rule id and business term."""
    out: dict[str, object] = {
        "title": f.title,
        "detail": f.detail,
        "problem_type": f.problem_type,
        "source": {"pointer": f.pointer},
        "severity": f.severity.value,
    }
    if f.rule_id:
        out["rule_id"] = f.rule_id
    if f.business_term:
        out["business_term"] = f.business_term
    return out
