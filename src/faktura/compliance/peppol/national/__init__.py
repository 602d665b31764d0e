"""Peppol BIS 3 national rule blocks, applied under the Schematron's own conditions
(seller country from the VAT-id prefix or the address, buyer country likewise)."""

from __future__ import annotations

from faktura.compliance.engine import Context
from faktura.compliance.predicates import representative_vat_id, vat_id


def supplier_country(ctx: Context) -> str:
    """Peppol's `$supplierCountry`: the seller VAT-id prefix, else the tax representative's
    VAT-id prefix, else the address country. (Several national gates ask it: once per check.)"""
    country: str | None = ctx.views.get("supplier_country")
    if country is None:
        v = vat_id(ctx.seller) or representative_vat_id(ctx.invoice)
        country = ctx.views["supplier_country"] = (
            v[:2].strip().upper() if v else (ctx.seller_country or "XX").upper()
        )
    return country


def customer_country(ctx: Context) -> str:
    v = vat_id(ctx.buyer)
    if v:
        return v[:2].strip().upper()
    return (ctx.buyer_country or "XX").upper()
