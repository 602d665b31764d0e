"""The auditor's export: a ZIP of the archived XML and PDF of a period plus a manifest
(JSON and CSV) listing every file with its SHA-256 and its archive entry. Streamed: only
one object is in memory at a time, whatever the period's size."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import zipfile
from collections.abc import AsyncIterator, Sequence
from typing import Any

import msgspec

from faktura.archive.ledger import ArchiveEntry
from faktura.archive.storage import ObjectMissing, ObjectStore

EXTENSIONS = {"application/xml": "xml", "application/pdf": "pdf"}
MANIFEST_FIELDS = (
    "path",
    "invoice_id",
    "number",
    "issue_date",
    "kind",
    "media_type",
    "size",
    "sha256",
    "verified",
    "archived_at",
    "retention_until",
    "seq",
    "entry_hash",
)


class _Sink(io.RawIOBase):
    """A write-only, non-seekable file for ZipFile; the bytes are taken out as they come."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self.chunks.append(data)
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def drain(self) -> bytes:
        out = b"".join(self.chunks)
        self.chunks.clear()
        return out


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


async def export_zip(
    store: ObjectStore, items: Sequence[tuple[ArchiveEntry, str, dt.date]], *, generated_at: dt.datetime
) -> AsyncIterator[bytes]:
    """`items`: (entry, invoice number, issue date). Yields the ZIP in pieces."""
    sink = _Sink()
    zf = zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED)
    rows: list[dict[str, Any]] = []
    stamp = generated_at.timetuple()[:6]
    for entry, number, issue_date in items:
        ext = EXTENSIONS.get(entry.media_type, "bin")
        path = f"{issue_date.isoformat()}_{_safe(number)}/{_safe(number)}.{ext}"
        try:
            data = await store.get(entry.storage_key)
        except ObjectMissing:
            data = None
        verified = data is not None and hashlib.sha256(data).hexdigest() == entry.sha256
        if data is not None:
            zf.writestr(zipfile.ZipInfo(path, date_time=entry.created_at.timetuple()[:6]), data)
        rows.append(
            {
                "path": path if data is not None else "",
                "invoice_id": str(entry.invoice_id),
                "number": number,
                "issue_date": issue_date.isoformat(),
                "kind": entry.kind,
                "media_type": entry.media_type,
                "size": entry.size,
                "sha256": entry.sha256,
                "verified": verified,
                "archived_at": entry.created_at.isoformat(),
                "retention_until": entry.retention_until.isoformat(),
                "seq": entry.seq,
                "entry_hash": entry.entry_hash,
            }
        )
        yield sink.drain()
    manifest = {"generated_at": generated_at.isoformat(), "files": rows}
    zf.writestr(
        zipfile.ZipInfo("manifest.json", date_time=stamp), msgspec.json.format(msgspec.json.encode(manifest))
    )
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    zf.writestr(zipfile.ZipInfo("manifest.csv", date_time=stamp), text.getvalue().encode())
    zf.close()
    yield sink.drain()
