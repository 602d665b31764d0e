"""Delivery information (BG-13) with the deliver-to location and address (BG-15)."""

from __future__ import annotations

from faktura.domain.invoice import Delivery
from faktura.render.ubl.common import Element, address, cac, cbc, date_text, identifier


def delivery(value: Delivery | None) -> Element | None:
    """BG-13: actual delivery date, location id and address (BG-15), deliver-to party name."""
    if value is None:
        return None
    el = cac(None, "Delivery")
    cbc(el, "ActualDeliveryDate", date_text(value.date))
    if value.location_id is not None or value.address is not None:
        location = cac(el, "DeliveryLocation")
        if value.location_id is not None:
            identifier(location, "ID", value.location_id.value, value.location_id.scheme)
        if value.address is not None:
            address(location, "Address", value.address)
    if value.party_name:
        cbc(cac(cac(el, "DeliveryParty"), "PartyName"), "Name", value.party_name)
    return el if len(el) else None
