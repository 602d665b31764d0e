"""The archive: every issued artefact stored write-once, hashed, chained and kept for the
seller country's legal period. `storage` holds the bytes, `ledger` the rows, `retention`
the law, `export` the auditor's ZIP."""

from faktura.archive.ledger import ArchiveEntry, Problem, archive_document, entries_for_invoice, verify
from faktura.archive.retention import retention_for
from faktura.archive.storage import FilesystemStore, ObjectStore, S3Store, open_store

__all__ = [
    "ArchiveEntry",
    "FilesystemStore",
    "ObjectStore",
    "Problem",
    "S3Store",
    "archive_document",
    "entries_for_invoice",
    "open_store",
    "retention_for",
    "verify",
]
