"""A tenant's own Peppol access point: kind, URL and credential set by the tenant
(`PUT /v1/peppol/access-point`), used instead of the deployment's for that tenant's sends.

The credential is stored encrypted (AES-256-GCM under `FAKTURA_SECRETS_KEY`, 32 bytes in
base64; the tenant id is the associated data, so a value copied to another tenant does not
decrypt) and is never returned or logged. The URL is tenant input: it is checked against the
outbound URL policy when set and again before every request, and requests go to the checked
address (`faktura.delivery.outbound`).
"""

from __future__ import annotations

import base64
import os
from typing import Any

from faktura.delivery.peppol import AccessPoint
from faktura.settings import DeliverySettings

KEY = "peppol_access_point"
KINDS = ("e-invoice-be", "phoss-ap", "contract")


class SecretsKeyMissing(Exception):
    pass


def _aead(settings: DeliverySettings) -> Any:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not settings.secrets_key:
        raise SecretsKeyMissing("FAKTURA_SECRETS_KEY is not set: tenant credentials cannot be stored")
    return AESGCM(base64.b64decode(settings.secrets_key))


def seal(settings: DeliverySettings, tenant_id: Any, secret: str) -> str:
    nonce = os.urandom(12)
    sealed = _aead(settings).encrypt(nonce, secret.encode(), str(tenant_id).encode())
    return "v1:" + base64.b64encode(nonce + sealed).decode()


def unseal(settings: DeliverySettings, tenant_id: Any, value: str) -> str:
    raw = base64.b64decode(value.removeprefix("v1:"))
    return str(_aead(settings).decrypt(raw[:12], raw[12:], str(tenant_id).encode()).decode())


def access_point_of(
    settings: DeliverySettings, tenant_id: Any, tenant_settings: dict[str, Any]
) -> AccessPoint | None:
    """The tenant's access point, or None when it has none (the deployment's is used)."""
    from faktura.delivery.einvoice_be import EInvoiceBeAccessPoint
    from faktura.delivery.outbound import policy_for
    from faktura.delivery.peppol import HttpAccessPoint
    from faktura.delivery.phoss_ap import PhossAccessPoint

    conf = tenant_settings.get(KEY)
    if not conf:
        return None
    token = unseal(settings, tenant_id, conf["token"]) if conf.get("token") else None
    cls: Any = {"e-invoice-be": EInvoiceBeAccessPoint, "phoss-ap": PhossAccessPoint}.get(
        conf["kind"], HttpAccessPoint
    )
    ap = cls(conf["url"], token, settings.send_timeout)
    ap.policy = policy_for(settings.outbound_allow)
    return ap
