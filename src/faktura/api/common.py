"""Small helpers shared by resource controllers: ids, PATCH merging, row views."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import msgspec

from faktura.api.errors import not_found
from faktura.api.wire import convert, model_of

T = TypeVar("T")


def parse_id(value: str, what: str) -> uuid.UUID:
    """A malformed id is indistinguishable from a foreign one: 404 either way."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise not_found(what) from None


def merge_patch(stored: dict[str, Any], body: bytes, model_type: type[T]) -> tuple[T, dict[str, Any]]:
    """Apply `{"model": {...}}` as a JSON merge patch (RFC 7386) and re-validate the whole."""
    merged = _merge(stored, model_of(body))
    model = convert(merged, model_type, "/model")
    return model, msgspec.to_builtins(model)


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge(out.get(k), v)
    return out


def timestamps(row: Any) -> dict[str, Any]:
    return {"created_at": row["created_at"], "modified_at": row["modified_at"]}
