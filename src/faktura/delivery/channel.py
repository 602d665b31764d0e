"""The one protocol every delivery channel implements, and what it is handed.

A channel gets an `Outgoing` (everything needed, already read from the database) and
either returns a `SendResult` or raises. `PermanentError` ends the delivery as FAILED at
once (the peer said no for good); any other exception is transient and retried with
backoff. Channels never touch the database: the state machine in `service.py` does, so
every channel gets the same claim/lease/retry semantics.

Duplicate suppression is the channel's half of the contract: each one passes the delivery
id to the peer as a delivery key (e-mail `Message-ID`, webhook `Faktura-Delivery-Id`,
SBDH `InstanceIdentifier`), so a peer can recognise a resend after a crash.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol


class PermanentError(Exception):
    """The peer refused for good (unknown recipient, receiver not registered, 4xx)."""


class TransientError(Exception):
    """Worth retrying (connection refused, timeout, 5xx)."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    media_type: str
    content: bytes


@dataclass(frozen=True)
class Outgoing:
    delivery_id: uuid.UUID
    tenant_id: uuid.UUID
    invoice_id: uuid.UUID
    number: str
    document_type: str
    profile: str
    issue_date: str
    currency: str
    total: str
    seller: dict[str, Any]
    buyer: dict[str, Any]
    language: str
    target: dict[str, Any]
    #: The issued XML first, then the PDF when the archive has one; bytes exactly as stored.
    documents: list[Attachment]
    tenant_settings: dict[str, Any] = field(default_factory=dict)
    #: Syntax of the issued XML: "ubl" or "cii".
    syntax: str = "ubl"
    #: Factur-X conformance level the invoice was issued at (a French profile is a Factur-X
    #: only with one); None otherwise
    conformance_level: str | None = None

    @property
    def ubl(self) -> Attachment:
        return next(d for d in self.documents if d.media_type == "application/xml")


@dataclass(frozen=True)
class SendResult:
    #: DELIVERED when the peer confirmed receipt by itself (a webhook's 2xx), else SENT.
    status: str
    message_id: str
    evidence: dict[str, Any]


class Channel(Protocol):
    name: str

    async def send(self, message: Outgoing) -> SendResult: ...
