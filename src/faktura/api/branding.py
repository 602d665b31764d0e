"""`/v1/branding`: the tenant's logo, accent colour, footer text and PDF design.

Every change adds a version (rows are write-once); an invoice is rendered with the version
that was current when it was issued. Logos are checked by content, not by the declared
type: PNG and JPEG must decode (Pillow) within a pixel limit; SVG must parse as SVG with a
parser that resolves no entities and fetches nothing.
"""

from __future__ import annotations

import hashlib
import io
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, put
from msgspec import Meta

from faktura.api.context import Scope, tenant_scope
from faktura.api.errors import ApiError, not_found, problem
from faktura.api.wire import json_response, read_body, read_model
from faktura.render.pdf import DEFAULT_ACCENT, TEMPLATES

MAX_PIXELS = 4096 * 4096
SVG_NS = "{http://www.w3.org/2000/svg}svg"


class BrandingInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Fields left out keep their current value; `footer_text: null` removes the footer."""

    template: str | msgspec.UnsetType = msgspec.UNSET
    accent_color: Annotated[str, Meta(pattern=r"^#[0-9a-fA-F]{6}$")] | msgspec.UnsetType = msgspec.UNSET
    footer_text: Annotated[str, Meta(max_length=500)] | msgspec.UnsetType | None = msgspec.UNSET


def check_logo(data: bytes, declared: str, max_bytes: int) -> str:
    """The logo's media type, from its content; ApiError when it is not an acceptable image."""
    if len(data) > max_bytes:
        raise ApiError(
            413,
            [
                problem(
                    "Request Entity Too Large",
                    f"A logo may have at most {max_bytes} bytes.",
                    "REQUEST_TOO_LARGE",
                )
            ],
        )
    if not data:
        raise ApiError(422, [problem("Invalid Logo", "The logo is empty.", "INVALID_FIELD")])
    declared = declared.split(";")[0].strip().lower()
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        actual = "image/png"
    elif data.startswith(b"\xff\xd8\xff"):
        actual = "image/jpeg"
    elif declared == "image/svg+xml":
        actual = "image/svg+xml"
    else:
        raise ApiError(
            415,
            [problem("Unsupported Media Type", "A logo must be PNG, JPEG or SVG.", "UNSUPPORTED_MEDIA_TYPE")],
        )
    if declared != actual:
        raise ApiError(
            415,
            [
                problem(
                    "Unsupported Media Type",
                    f"Content-Type {declared or '(none)'} does not match the content ({actual}).",
                    "UNSUPPORTED_MEDIA_TYPE",
                )
            ],
        )
    if actual == "image/svg+xml":
        from lxml import etree

        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
        try:
            root = etree.fromstring(data, parser)
        except etree.XMLSyntaxError:
            raise ApiError(
                422, [problem("Invalid Logo", "The SVG is not well-formed XML.", "INVALID_FIELD")]
            ) from None
        if root.tag != SVG_NS:
            raise ApiError(
                422, [problem("Invalid Logo", "The document is not an SVG image.", "INVALID_FIELD")]
            )
    else:
        from PIL import Image

        try:
            with Image.open(io.BytesIO(data)) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise ApiError(
                        422, [problem("Invalid Logo", f"At most {MAX_PIXELS} pixels.", "INVALID_FIELD")]
                    )
                img.verify()
        except ApiError:
            raise
        except Exception:
            raise ApiError(
                422, [problem("Invalid Logo", "The image cannot be decoded.", "INVALID_FIELD")]
            ) from None
    return actual


async def _current(scope: Scope) -> Any:
    return await scope.conn.fetchrow(
        "SELECT version, template, accent_color, footer_text, logo, logo_media_type, created_at"
        " FROM tenant_branding WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1",
        scope.tenant_id,
    )


def _view(row: Any) -> dict[str, Any]:
    if row is None:
        return {
            "version": None,
            "template": TEMPLATES[0],
            "accent_color": DEFAULT_ACCENT,
            "footer_text": None,
            "logo": None,
            "templates": list(TEMPLATES),
        }
    logo = None
    if row["logo"] is not None:
        raw = bytes(row["logo"])
        logo = {
            "media_type": row["logo_media_type"],
            "size": len(raw),
            "sha256": hashlib.sha256(raw).hexdigest(),
        }
    return {
        "version": row["version"],
        "template": row["template"],
        "accent_color": row["accent_color"],
        "footer_text": row["footer_text"],
        "logo": logo,
        "templates": list(TEMPLATES),
        "created_at": row["created_at"],
    }


async def _new_version(scope: Scope, **changes: Any) -> Any:
    """Append a version: the current values with `changes` applied."""
    await scope.conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('faktura.branding:' || $1, 0))", str(scope.tenant_id)
    )
    cur = await _current(scope)
    values = {
        "template": cur["template"] if cur else TEMPLATES[0],
        "accent_color": cur["accent_color"] if cur else DEFAULT_ACCENT,
        "footer_text": cur["footer_text"] if cur else None,
        "logo": cur["logo"] if cur else None,
        "logo_media_type": cur["logo_media_type"] if cur else None,
    } | changes
    return await scope.conn.fetchrow(
        "INSERT INTO tenant_branding (tenant_id, version, template, accent_color, footer_text, logo, logo_media_type)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " RETURNING version, template, accent_color, footer_text, logo, logo_media_type, created_at",
        scope.tenant_id,
        (cur["version"] + 1) if cur else 1,
        values["template"],
        values["accent_color"],
        values["footer_text"],
        values["logo"],
        values["logo_media_type"],
    )


class BrandingController(Controller):
    path = "/v1/branding"
    tags = ["branding"]

    @get("/", operation_id="branding_retrieve")
    async def retrieve(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        async with tenant_scope(request) as scope:
            row = await _current(scope)
        return json_response({"model": _view(row), "warnings": [], "errors": []})

    @put("/", operation_id="branding_update")
    async def update(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Change template, accent colour or footer text (the logo stays)."""
        model, _ = await read_model(request, BrandingInput)
        changes: dict[str, Any] = {
            k: getattr(model, k)
            for k in ("template", "accent_color", "footer_text")
            if getattr(model, k) is not msgspec.UNSET
        }
        async with tenant_scope(request) as scope:
            if "template" in changes and changes["template"] not in TEMPLATES:
                raise ApiError(
                    422,
                    [
                        problem(
                            "Invalid Field",
                            f"template must be one of {list(TEMPLATES)}.",
                            "INVALID_FIELD",
                            "/model/template",
                        )
                    ],
                )
            if "accent_color" in changes:
                changes["accent_color"] = changes["accent_color"].lower()
            row = await _new_version(scope, **changes)
        return json_response({"model": _view(row), "warnings": [], "errors": []})

    @put("/logo", operation_id="branding_logo_upload", request_max_body_size=None)
    async def upload_logo(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """The raw image as the body, with its Content-Type (image/png, image/jpeg, image/svg+xml)."""
        settings = request.app.state.settings
        data = await read_body(request, settings.logo_max_bytes, "A logo")
        media_type = check_logo(data, request.headers.get("content-type", ""), settings.logo_max_bytes)
        async with tenant_scope(request) as scope:
            row = await _new_version(scope, logo=data, logo_media_type=media_type)
        return json_response({"model": _view(row), "warnings": [], "errors": []})

    @delete("/logo", operation_id="branding_logo_delete", status_code=200)
    async def delete_logo(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        async with tenant_scope(request) as scope:
            row = await _new_version(scope, logo=None, logo_media_type=None)
        return json_response({"model": _view(row), "warnings": [], "errors": []})

    @get("/logo", operation_id="branding_logo_retrieve")
    async def logo(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        async with tenant_scope(request) as scope:
            row = await _current(scope)
        if row is None or row["logo"] is None:
            raise not_found("Logo")
        return Response(bytes(row["logo"]), media_type=row["logo_media_type"])


__all__ = ["BrandingController", "check_logo"]
