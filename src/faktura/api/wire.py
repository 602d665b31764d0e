"""Request decoding and response encoding shared by the controllers."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from decimal import Decimal
from itertools import accumulate
from typing import Any, TypeVar

import msgspec
import msgspec.inspect
from litestar import MediaType, Request, Response
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from faktura.api.context import Scope
from faktura.api.errors import ApiError, decode_error, envelope, findings_error, json_path_to_pointer, problem
from faktura.compliance.basic import shape_findings
from faktura.domain.money import unreadable_decimal

T = TypeVar("T")


def _dec_hook(type_: type, obj: Any) -> Any:
    raise NotImplementedError


async def read_model(request: Request[Any, Any, Any], model_type: type[T]) -> tuple[T, bytes]:
    """Decode `{"model": {...}}` into `model_type`; errors point into the request."""
    body = await request.body()
    return decode_model(body, model_type), body


async def read_body(request: Request[Any, Any, Any], limit: int, what: str = "The body") -> bytes:
    """The body of a route that sets its own limit (`request_max_body_size=None`): 413 at once
    when Content-Length announces more than `limit` bytes, else as soon as the streamed bytes
    pass it; never more than `limit` bytes are held."""
    too_large = RequestEntityTooLarge(detail=f"{what} may have at most {limit} bytes.")
    if (request.content_length or 0) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def decode_model(body: bytes, model_type: type[T]) -> T:
    return convert(model_of(body), model_type, "/model")


def model_of(body: bytes) -> dict[str, Any]:
    """The `model` object of a `{"model": {...}}` body; anything else is a 422 that says so."""
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
                    "Unrecognized Field",
                    f"Unknown field `{extra[0]}`.",
                    "UNRECOGNIZED_FIELD",
                    "/" + extra[0].replace("~", "~0").replace("/", "~1"),
                )
            ],
        )
    return raw["model"]  # type: ignore[no-any-return]


#: JSON numbers with a fraction or exponent become Decimal straight from their text: exact, and
#: `1e400` is a number out of range for the field, not a float overflow of the whole body.
_JSON = msgspec.json.Decoder(float_hook=Decimal)


#: Deepest JSON nesting accepted. Faktura's models nest a few levels; anything deeper would
#: only make the decoder (and every walk over the result) recurse toward the stack's end.
MAX_JSON_DEPTH = 64
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # read as signed bytes: +1, -1


def nested_deeper_than(body: bytes, limit: int) -> bool:
    """Whether the brackets outside strings nest deeper than `limit`, by a scan of the bytes
    (no recursion, no parse). Strings are dropped as the decoder delimits them: escaped
    backslashes and quotes first, then every other piece between quotes."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = b"".join(unescaped.split(b'"')[0::2]).translate(None, _NOT_BRACKET)
    return any(depth > limit for depth in accumulate(memoryview(brackets.translate(_STEP)).cast("b")))


def decode_json(body: bytes) -> Any:
    if not body.strip():
        raise ApiError(400, [problem("Malformed JSON", "The request body is empty.", "MALFORMED_JSON")])
    if nested_deeper_than(body, MAX_JSON_DEPTH):
        raise ApiError(
            400,
            [problem("Nesting Too Deep", f"JSON may nest at most {MAX_JSON_DEPTH} levels.", "JSON_TOO_DEEP")],
        )
    try:
        raw = _JSON.decode(body)
    except msgspec.DecodeError as exc:
        raise decode_error(exc) from None
    if _MAYBE_UNCARRIABLE.search(body) and (where := uncarriable(raw)) is not None:
        raise ApiError(
            422,
            [
                problem(
                    "Invalid Characters",
                    "Text may not contain NUL, control characters other than tab and line breaks,"
                    " or unpaired surrogates: neither PostgreSQL nor XML can store them.",
                    "INVALID_CHARACTERS",
                    where,
                )
            ],
        )
    return raw


# What neither PostgreSQL text/jsonb nor XML 1.0 can carry: NUL and other C0 controls
# (tab, LF, CR are fine), lone surrogates, and the non-characters U+FFFE/U+FFFF.
_UNCARRIABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: Every way such a character can be written in the JSON the decoder took (it refuses raw
#: controls): an escaped control (`\u001f`, `\b`, `\f`), an escaped surrogate, U+FFFE/FFFF
#: escaped or raw, a raw surrogate. A body without any is not walked (`uncarriable`); a match
#: may be harmless (`\u000a`, a surrogate pair, an escaped backslash before `u0001`).
_MAYBE_UNCARRIABLE = re.compile(
    rb"\\(?:u00[01][0-9a-fA-F]|[bf]|u[dD][89a-fA-F][0-9a-fA-F]{2}|u[fF]{3}[eEfF])|\xef\xbf[\xbe\xbf]|\xed[\xa0-\xbf]"
)


def uncarriable(node: Any, path: str = "") -> str | None:
    """JSON Pointer of the first string (value or key) that cannot be stored, or None."""
    if isinstance(node, str):
        return path if _UNCARRIABLE.search(node) else None
    if isinstance(node, dict):
        for k, v in node.items():
            child = f"{path}/{k.replace('~', '~0').replace('/', '~1')}"
            if _UNCARRIABLE.search(k):
                return child
            if (found := uncarriable(v, child)) is not None:
                return found
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if (found := uncarriable(v, f"{path}/{i}")) is not None:
                return found
    return None


def convert(raw: Any, model_type: type[T], prefix: str) -> T:
    """`raw` as `model_type`; when it does not fit, one 422 with every member that does not,
    each at its pointer and with its official rule id where one covers it."""
    try:
        model = msgspec.convert(raw, model_type, strict=False)
    except msgspec.ValidationError as exc:
        error = _shape_error(raw, model_type, prefix) or decode_error(exc, prefix)
        raise with_allowed_values(error, exc, model_type, prefix) from None
    if (path := unreadable_decimal(model, raw)) is not None:
        raise _shape_error(raw, model_type, prefix) or ApiError(
            422,
            [
                problem(
                    "Invalid Field",
                    "Expected a finite decimal number written with the digits 0-9.",
                    "INVALID_FIELD",
                    prefix + "".join(f"/{p}" for p in path),
                )
            ],
        )
    return model


def _shape_error(raw: Any, model_type: type, prefix: str) -> ApiError | None:
    found = shape_findings(raw, model_type, prefix)
    return findings_error(found) if found else None


def with_allowed_values(
    error: ApiError, exc: msgspec.ValidationError, model_type: Any, prefix: str
) -> ApiError:
    """An invalid enum value's error lists the values the field takes."""
    text, _, path = str(exc).rpartition(" - at `")
    if not text.startswith("Invalid enum value"):
        return error
    pointer = json_path_to_pointer(path.rstrip("`"))
    values = _enum_values(msgspec.inspect.type_info(model_type), pointer)
    if values:
        at = [e for e in error.errors if e.get("source", {}).get("pointer") == prefix + pointer]
        for e in at or error.errors[:1]:
            e["detail"] = f"{text}; allowed: {', '.join(map(str, values))}."
    return error


def _enum_values(info: Any, pointer: str) -> list[Any]:
    """The Literal or Enum values at `pointer` (relative to the struct `info`)."""
    for part in [p for p in pointer.split("/") if p]:
        info = _unwrap(info)
        if isinstance(info, msgspec.inspect.StructType):
            info = next((f.type for f in info.fields if f.encode_name == part), None)
        elif isinstance(info, msgspec.inspect.ListType | msgspec.inspect.SetType):
            info = info.item_type
        elif isinstance(info, msgspec.inspect.DictType):
            info = info.value_type
        else:
            return []
    info = _unwrap(info)
    if isinstance(info, msgspec.inspect.LiteralType):
        return list(info.values)
    if isinstance(info, msgspec.inspect.EnumType):
        return [m.value for m in info.cls]
    return []


def _unwrap(info: Any) -> Any:
    """The one non-None member of an optional (`X | None`), else `info`."""
    if isinstance(info, msgspec.inspect.Metadata):
        info = info.type
    if isinstance(info, msgspec.inspect.UnionType):
        rest = [t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)]
        if len(rest) == 1:
            return _unwrap(rest[0])
    return info


def to_builtins(value: Any) -> Any:
    return msgspec.to_builtins(value)


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(
        msgspec.json.encode(payload), status_code=status, media_type=MediaType.JSON, headers=headers
    )


def model_response(model: Any, status: int = 200, warnings: list[Any] | None = None) -> Response[bytes]:
    return json_response(envelope(model, warnings=warnings or []), status)


# -- idempotency ---------------------------------------------------------------------------

MAX_KEY_LENGTH = 255


async def idempotent(
    request: Request[Any, Any, Any],
    scope: Scope,
    body: bytes,
    work: Callable[[], Awaitable[Response[bytes]]],
) -> Response[bytes]:
    """Run `work` once per `Idempotency-Key`: the same key with the same body replays the
    first response; with another body it is a 422. The key row is written in the same
    transaction as the work, so a crash or rollback leaves no half-recorded key, and a
    concurrent duplicate waits on the key's row lock and then replays."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return await work()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ApiError(
            400, [problem("Invalid Header", "Idempotency-Key must be 1..255 characters.", "INVALID_HEADER")]
        )
    digest = hashlib.sha256(
        request.method.encode() + b" " + request.url.path.encode() + b"\n" + body
    ).digest()
    owner: object
    if scope.tenant_id is not None:
        table, owner_col, owner = "idempotency_keys", "tenant_id", scope.tenant_id
    else:
        table, owner_col, owner = "platform_idempotency_keys", "platform_id", scope.platform_id
    conn = scope.conn
    inserted = await conn.fetchval(
        f"INSERT INTO {table} ({owner_col}, key, request_hash) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING RETURNING true",
        owner,
        key,
        digest,
    )
    if not inserted:
        row = await conn.fetchrow(
            f"SELECT request_hash, status_code, response FROM {table} WHERE {owner_col} = $1 AND key = $2",
            owner,
            key,
        )
        if row["request_hash"] != digest:
            raise ApiError(
                422,
                [
                    problem(
                        "Idempotency Key Reused",
                        "This Idempotency-Key was used with a different request.",
                        "IDEMPOTENCY_KEY_REUSED",
                        "",
                    )
                ],
            )
        return Response(
            bytes(row["response"]),
            status_code=row["status_code"],
            media_type=MediaType.JSON,
            headers={"Idempotent-Replayed": "true"},
        )
    response = await work()
    await conn.execute(
        f"UPDATE {table} SET status_code = $3, response = $4 WHERE {owner_col} = $1 AND key = $2",
        owner,
        key,
        response.status_code,
        response.content,
    )
    return response
