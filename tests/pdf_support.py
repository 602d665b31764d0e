"""Helpers for PDF tests: text via pypdf, attachments and XMP via pikepdf (both Python packages)."""

from __future__ import annotations

import io
import re
from typing import Any

import pikepdf
from pypdf import PdfReader

_SPACE = re.compile(r"[\s\u00a0\u202f]+")


def norm(text: str) -> str:
    """Collapse every kind of space (Babel uses NBSP and narrow NBSP) to one blank."""
    return _SPACE.sub(" ", text).strip()


def pdf_text(pdf: bytes, *, first: int | None = None, last: int | None = None) -> str:
    """The text of pages `first`..`last` (1-based, inclusive), pages separated by form feeds."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    start = (first or 1) - 1
    stop = last if last is not None else len(pages)
    return "".join(pages[i].extract_text() + "\f" for i in range(start, stop))


def page_texts(pdf: bytes) -> list[str]:
    return [norm(p) for p in pdf_text(pdf).split("\f") if p.strip()]


def attachments(pdf: bytes) -> dict[str, tuple[bytes, Any]]:
    """name → (bytes, AFRelationship) of every embedded file."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        out = {}
        for name, spec in doc.attachments.items():
            out[name] = (spec.get_file().read_bytes(), spec.obj.get("/AFRelationship"))
        return out


def pdfa_identification(pdf: bytes) -> tuple[str | None, str | None, bool]:
    """(pdfaid:part, pdfaid:conformance, catalog has /AF) from the XMP packet."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        meta = doc.open_metadata()
        return meta.get("pdfaid:part"), meta.get("pdfaid:conformance"), "/AF" in doc.Root
