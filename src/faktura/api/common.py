"""Small helpers shared by resource controllers: ids, PATCH merging, row views."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import msgspec

from faktura.api.errors import ApiError, not_found, problem
from faktura.api.wire import convert, decode_json

T = TypeVar("T")


def parse_id(value: str, what: str) -> uuid.UUID:
    """A malformed id is indistinguishable from a foreign one: 404 either way."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise not_found(what) from None


def merge_patch(stored: dict[str, Any], body: bytes, model_type: type[T]) -> tuple[T, dict[str, Any]]:
    """Apply `{"model": {...}}` as a JSON merge patch (RFC 7386) and re-validate the whole."""
    raw = decode_json(body)
    if not isinstance(raw, dict) or not isinstance(raw.get("model"), dict):
        raise ApiError(
            422,
            [
                problem(
                    "Missing Required Field",
                    'The body must be {"model": {...}}.',
                    "MISSING_REQUIRED_FIELD",
                    "/model",
                )
            ],
        )
    extra = [k for k in raw if k != "model"]
    if extra:
        raise ApiError(
            422,
            [
                problem(
                    "Unrecognized Field", f"Unknown field `{extra[0]}`.", "UNRECOGNIZED_FIELD", f"/{extra[0]}"
                )
            ],
        )
    merged = _merge(stored, raw["model"])
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
