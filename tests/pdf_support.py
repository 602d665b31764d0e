"""Helpers for PDF tests: text via poppler's pdftotext, attachments and XMP via pikepdf."""

from __future__ import annotations

import io
import re
import subprocess
from typing import Any

import pikepdf

_SPACE = re.compile(r"[\s\u00a0\u202f]+")


def norm(text: str) -> str:
    """Collapse every kind of space (Babel uses NBSP and narrow NBSP) to one blank."""
    return _SPACE.sub(" ", text).strip()


def pdf_text(pdf: bytes, *, first: int | None = None, last: int | None = None) -> str:
    args = ["pdftotext", "-enc", "UTF-8"]
    if first is not None:
        args += ["-f", str(first)]
    if last is not None:
        args += ["-l", str(last)]
    out = subprocess.run([*args, "-", "-"], input=pdf, capture_output=True, check=True)
    return out.stdout.decode("utf-8")


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
