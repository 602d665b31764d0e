"""Compliance endpoints: dry-run validation, the rule catalogue, and the request schema per tenant.

`POST /v1/invoices/validate` runs exactly what issuing runs (`issuing.prepare`), renders the
would-be XML with a placeholder number, and stores nothing: no draft, no number taken.
The `meta` routes publish the invoice JSON Schema with the fields this tenant's rule sets
require. Litestar matches static path segments before `InvoiceController`'s
`/{invoice_id:str}`, so `/v1/invoices/validate` and `/v1/invoices/meta/...` never reach it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post

from faktura.api.common import parse_id
from faktura.api.context import tenant_scope
from faktura.api.errors import ApiError, envelope, not_found, problem
from faktura.api.gate import public
from faktura.api.schema import invoice_input_schema
from faktura.api.wire import json_response, read_model
from faktura.compliance.engine import RuleSet
from faktura.compliance.findings import error_object
from faktura.compliance.peppol import NATIONAL
from faktura.compliance.profiles import PROFILES
from faktura.compliance.requirements import required_pointers
from faktura.compliance.rulebook import select
from faktura.compliance.versions import Applied, RuleVersion, family_versions
from faktura.domain.document import PEPPOL_BIS_3, build_document
from faktura.domain.invoice import InvoiceInput
from faktura.domain.parties import seller_party
from faktura.domain.syntax import syntax_of
from faktura.issuing import load_tenant, prepare
from faktura.render.einvoice import render_einvoice

PLACEHOLDER_NUMBER = "DRAFT"


def _profile_param(value: str | None) -> str:
    name = PEPPOL_BIS_3 if value is None else value
    if name not in PROFILES:
        raise ApiError(
            400,
            [
                problem(
                    "Invalid Parameter",
                    f"profile must be one of {sorted(PROFILES)}.",
                    "INVALID_PARAMETER",
                    "/profile",
                )
            ],
        )
    return name


def _date_param(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ApiError(
            400,
            [problem("Invalid Parameter", "date must be a date (YYYY-MM-DD).", "INVALID_PARAMETER", "/date")],
        ) from None


def _version_view(a: Applied, day: dt.date) -> dict[str, Any]:
    def row(v: RuleVersion) -> dict[str, Any]:
        return {"version": v.version, "effective_from": v.effective_from.isoformat(), "source": v.source}

    return {
        "family": a.family,
        "applied": row(a.applied),
        "in_force": row(a.in_force),
        "note": a.note,
        "later": [
            {**row(v), "implemented": v.implemented}
            for v in family_versions(a.family)
            if v.effective_from > day
        ],
    }


def _national_country(rule_id: str) -> str | None:
    for cc, rules in NATIONAL.items():
        if any(r.id == rule_id for r in rules):
            return cc
    return None


def _rules(rs: RuleSet, country: str | None) -> list[dict[str, Any]]:
    out = []
    for r in rs.rules:
        cc = _national_country(r.id) if rs.source == "peppol" else None
        if country and cc and cc != country:
            continue
        out.append(
            {
                "id": r.id,
                "severity": r.severity.value,
                "message": r.message,
                "business_term": r.bt,
                "rule_set": rs.name,
                "source": rs.source,
                "version": rs.version,
                "country": cc,
                "checked_on": "request" if r.on_input else "document",
            }
        )
    return out


def _schema(required: dict[str, list[str]]) -> dict[str, Any]:
    schema = invoice_input_schema()
    model = schema["$defs"]["InvoiceInput"]
    top = sorted({p.split("/")[2] for p in required if p.count("/") == 2})
    model["required"] = sorted(set(model.get("required", [])) | set(top))
    schema["x-faktura-required"] = required
    return schema


class ComplianceController(Controller):
    path = "/v1"
    tags = ["compliance"]

    @post("/invoices/validate", operation_id="invoices_validate", status_code=200)
    async def validate(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Dry run: every finding and the would-be XML (UBL or CII). Nothing is stored, no number is taken."""
        model, _ = await read_model(request, InvoiceInput)
        async with tenant_scope(request) as scope:
            prepared = await prepare(scope.conn, scope.tenant_id, model, settings=scope.settings)  # type: ignore[arg-type]
        inv = prepared.invoice
        fatal = [f for f in prepared.findings if f.fatal]
        xml: str | None = None
        totals: Any = None
        # shape findings (no rule id: non-finite numbers, text XML cannot carry) leave nothing to render
        renderable = not any(f.rule_id is None for f in fatal)
        if (
            prepared.buyer is not None
            and renderable
            and inv.issue_date is not None
            and inv.currency is not None
        ):
            doc = build_document(
                inv,
                number=PLACEHOLDER_NUMBER,
                issue_date=inv.issue_date,
                seller=prepared.seller,
                buyer=prepared.buyer,
                currency=inv.currency,
                profile=inv.profile or PEPPOL_BIS_3,
            )
            with contextlib.suppress(ValueError):  # a refused syntax or level (FK-*): nothing to show
                xml = render_einvoice(doc).content.decode()
            totals = msgspec.to_builtins(doc.totals)
        result = {
            "valid": not fatal,
            "profile": inv.profile or PEPPOL_BIS_3,
            "rule_versions": prepared.selection.versions,
            "rule_notes": prepared.selection.notes,
            "totals": totals,
            "xml": xml,
            "syntax": syntax_of(inv.profile, inv.syntax),
        }
        return json_response(
            envelope(
                result,
                errors=[error_object(f) for f in fatal],
                warnings=[error_object(f) for f in prepared.findings if not f.fatal],
            )
        )

    @get("/compliance/rules", operation_id="compliance_rules", opt={"authenticate": public})
    async def rules(
        self,
        request: Request[Any, Any, Any],
        profile: str | None = None,
        country: str | None = None,
        date: str | None = None,
    ) -> Response[bytes]:
        """Every rule of a profile as it applies on `date` (default: today): id, severity,
        message, rule set and version; national blocks of other countries are left out when
        `country` is given. `versions` says which version of each family is in force, which one
        Faktura applies and why, and which implemented versions take effect later."""
        name = _profile_param(profile)
        day = _date_param(date) or request.app.state.settings.check_day()
        selection = select(name, day)
        prof = selection.profile
        cc = country.upper() if country else None
        seen: set[str] = set()
        out = []
        for rs in prof.rule_sets:
            for row in _rules(rs, cc):
                if row["id"] not in seen:
                    seen.add(row["id"])
                    if row["id"] in prof.overrides:
                        row["severity"] = prof.overrides[row["id"]].value
                    out.append(row)
        return json_response(
            {
                "profile": prof.name,
                "country": cc,
                "date": day.isoformat(),
                "rule_versions": selection.versions,
                "versions": [_version_view(a, day) for a in selection.applied],
                "notes": selection.notes,
                "count": len(out),
                "results": out,
            }
        )

    @get("/invoices/meta/post", operation_id="invoices_meta_post")
    async def meta_post(
        self, request: Request[Any, Any, Any], profile: str | None = None, buyer_country: str | None = None
    ) -> Response[bytes]:
        """JSON Schema of a new invoice for this tenant: `required` from its country's and profile's rules."""
        name = _profile_param(profile)
        async with tenant_scope(request) as scope:
            tenant = await load_tenant(scope.conn, scope.tenant_id)  # type: ignore[arg-type]
        required = required_pointers(
            seller_party(tenant), name, buyer_country.upper() if buyer_country else None
        )
        return json_response(_schema(required))

    @get("/invoices/meta/patch/{invoice_id:str}", operation_id="invoices_meta_patch")
    async def meta_patch(self, request: Request[Any, Any, Any], invoice_id: str) -> Response[bytes]:
        """JSON Schema for a merge patch of this draft: every field optional; `x-faktura-missing`
        lists what the draft still needs before it can be issued."""
        iid = parse_id(invoice_id, "Invoice")
        async with tenant_scope(request) as scope:
            row = await scope.conn.fetchrow(
                "SELECT model, status FROM invoices WHERE tenant_id = $1 AND id = $2", scope.tenant_id, iid
            )
            if row is None:
                raise not_found("Invoice")
            model = msgspec.convert(row["model"], InvoiceInput)
            prepared = await prepare(scope.conn, scope.tenant_id, model, settings=scope.settings)  # type: ignore[arg-type]
        schema = _schema({})
        schema["$defs"]["InvoiceInput"]["required"] = []
        schema["x-faktura-status"] = row["status"]
        schema["x-faktura-missing"] = {
            f.pointer: f.rule_id
            for f in prepared.findings
            if f.fatal and f.problem_type == "MISSING_REQUIRED_FIELD"
        }
        return json_response(schema)
