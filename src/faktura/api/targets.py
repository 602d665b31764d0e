"""Tenant-given URLs checked against the outbound policy before they are stored or used:
a refused one is a 422 pointing at the field (`faktura.delivery.outbound`)."""

from __future__ import annotations

from faktura.api.errors import ApiError, problem
from faktura.delivery.outbound import HostUnresolvable, OutboundRefused, policy_for, resolve
from faktura.settings import Settings


async def check_url(url: str, settings: Settings, pointer: str) -> None:
    try:
        await resolve(url, policy_for(settings.delivery.outbound_allow))
    except OutboundRefused as e:
        raise ApiError(422, [problem("URL Not Allowed", str(e), "URL_NOT_ALLOWED", pointer)]) from None
    except HostUnresolvable as e:
        raise ApiError(422, [problem("Unresolvable Host", str(e), "UNRESOLVABLE_HOST", pointer)]) from None
