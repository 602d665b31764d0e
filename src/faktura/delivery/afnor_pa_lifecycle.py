"""Between the PA channel and the French life cycle (`faktura.france`): a CDAR flow received
from the PA is parsed, matched to the tenant's invoice and applied to its timeline; the
statuses the seller sets (212 "Encaissée") are built as CDAR from the issued invoice."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg


@dataclass(frozen=True)
class Applied:
    invoice_id: uuid.UUID | None
    code: str | None


async def apply_cdar(
    conn: asyncpg.Connection, tenant_id: Any, content: bytes, source: dict[str, Any]
) -> Applied:
    raise NotImplementedError("CDAR life cycle not available")


async def build_cdar(conn: asyncpg.Connection, tenant_id: Any, invoice_id: uuid.UUID, code: str) -> bytes:
    raise NotImplementedError("CDAR life cycle not available")
