"""E-mail channel: SMTP through aiosmtplib, the issued XML (and the archived PDF) attached;
a Factur-X / ZUGFeRD invoice travels as its hybrid PDF alone, the XML being inside it.

Per tenant (`/v1/delivery-settings`): sender, reply-to and a subject template; the body is
localized in the buyer's language (else the seller's). The Message-ID is derived from the
delivery id, so a resend after a crash carries the same id and a receiving system can drop
the duplicate (SMTP itself has no idempotency; see docs/delivery.md).
"""

from __future__ import annotations

import email.utils
import hashlib
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from faktura.delivery.channel import Attachment, Outgoing, PermanentError, SendResult, TransientError
from faktura.domain.syntax import facturx_level
from faktura.settings import DeliverySettings

SUBJECTS = {
    "en": "Invoice {number} from {seller}",
    "de": "Rechnung {number} von {seller}",
    "nl": "Factuur {number} van {seller}",
    "fr": "Facture {number} de {seller}",
}
CREDIT_SUBJECTS = {
    "en": "Credit note {number} from {seller}",
    "de": "Gutschrift {number} von {seller}",
    "nl": "Creditnota {number} van {seller}",
    "fr": "Avoir {number} de {seller}",
}
BODIES = {
    "en": "Dear {buyer},\n\nplease find attached {kind} {number} of {issue_date} over {total} {currency}.\n"
    "{note}\n\nKind regards\n{seller}\n",
    "de": "Sehr geehrte Damen und Herren ({buyer}),\n\nanbei erhalten Sie {kind} {number} vom {issue_date}"
    " über {total} {currency}.\n{note}\n\nMit freundlichen Grüßen\n{seller}\n",
    "nl": "Beste {buyer},\n\nin de bijlage vindt u {kind} {number} van {issue_date} voor {total} {currency}.\n"
    "{note}\n\nMet vriendelijke groet\n{seller}\n",
    "fr": "Bonjour {buyer},\n\nveuillez trouver ci-joint {kind} {number} du {issue_date} d'un montant de"
    " {total} {currency}.\n{note}\n\nCordialement\n{seller}\n",
}
#: what the attachments are: the XML is the invoice ...
XML_NOTES = {
    "en": "The attached XML is the legally binding electronic invoice (EN 16931 / Peppol BIS Billing 3.0).",
    "de": "Die angehängte XML-Datei ist die rechtsverbindliche elektronische Rechnung"
    " (EN 16931 / Peppol BIS Billing 3.0).",
    "nl": "Het bijgevoegde XML-bestand is de juridisch bindende e-factuur (EN 16931 / Peppol BIS Billing 3.0).",
    "fr": "Le fichier XML joint est la facture électronique faisant foi (EN 16931 / Peppol BIS Billing 3.0).",
}
#: ... or the PDF is a hybrid with the electronic invoice inside
HYBRID_NOTES = {
    "en": "The attached PDF is a Factur-X / ZUGFeRD invoice: the embedded factur-x.xml is the electronic"
    " invoice (EN 16931).",
    "de": "Die angehängte PDF-Datei ist eine ZUGFeRD- / Factur-X-Rechnung: die eingebettete factur-x.xml ist"
    " die elektronische Rechnung (EN 16931).",
    "nl": "De bijgevoegde PDF is een Factur-X / ZUGFeRD-factuur: het ingesloten factur-x.xml is de e-factuur"
    " (EN 16931).",
    "fr": "Le PDF joint est une facture Factur-X : le fichier factur-x.xml qu'il contient est la facture"
    " électronique (EN 16931).",
}
KINDS = {
    "en": ("invoice", "credit note"),
    "de": ("Rechnung", "Gutschrift"),
    "nl": ("factuur", "creditnota"),
    "fr": ("la facture", "l'avoir"),
}


def message_id(delivery_id: object) -> str:
    """The delivery key: the same for every attempt of one delivery."""
    return f"<{delivery_id}@faktura.delivery>"


class _Fields(dict[str, Any]):
    def __missing__(self, key: str) -> str:  # an unknown placeholder stays visible, not a crash
        return "{" + key + "}"


def attachments(msg: Outgoing) -> list[Attachment]:
    """What the profile prescribes: the hybrid PDF alone for Factur-X / ZUGFeRD (retried
    while the PDF is still being rendered), else the XML and, once rendered, the PDF."""
    if facturx_level(msg.profile, msg.conformance_level) is None:
        return msg.documents
    pdf = [d for d in msg.documents if d.media_type == "application/pdf"]
    if not pdf:
        raise TransientError("the Factur-X PDF of the invoice is not rendered yet")
    return pdf


def build_message(msg: Outgoing, settings: DeliverySettings) -> EmailMessage:
    lang = msg.language.split("-")[0] if msg.language.split("-")[0] in BODIES else "en"
    credit = msg.document_type == "CREDIT_NOTE"
    documents = attachments(msg)
    seller = msg.seller.get("trading_name") or msg.seller.get("name", "")
    fields = _Fields(
        number=msg.number,
        seller=seller,
        buyer=msg.buyer.get("name", ""),
        issue_date=msg.issue_date,
        total=msg.total,
        currency=msg.currency,
        kind=KINDS[lang][1 if credit else 0],
        note=(HYBRID_NOTES if facturx_level(msg.profile, msg.conformance_level) else XML_NOTES)[lang],
    )
    template = msg.tenant_settings.get("subject_template") or (CREDIT_SUBJECTS if credit else SUBJECTS)[lang]
    em = EmailMessage()
    em["Subject"] = template.format_map(fields)
    em["From"] = msg.tenant_settings.get("email_from") or settings.email_from
    if msg.tenant_settings.get("reply_to"):
        em["Reply-To"] = msg.tenant_settings["reply_to"]
    em["To"] = msg.target["to"]
    em["Date"] = email.utils.formatdate(localtime=False)
    em["Message-ID"] = message_id(msg.delivery_id)
    em["Content-Language"] = lang
    em.set_content(BODIES[lang].format_map(fields))
    for doc in documents:
        maintype, _, subtype = doc.media_type.partition("/")
        em.add_attachment(doc.content, maintype=maintype, subtype=subtype, filename=doc.filename)
    return em


class EmailChannel:
    name = "email"

    def __init__(self, settings: DeliverySettings):
        self.settings = settings

    async def send(self, message: Outgoing) -> SendResult:
        em = build_message(message, self.settings)
        s = self.settings
        try:
            errors, response = await aiosmtplib.send(
                em,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password,
                start_tls=s.smtp_starttls,
                timeout=s.send_timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as e:
            raise PermanentError(f"recipient refused: {e}") from None
        except aiosmtplib.SMTPResponseException as e:
            if 500 <= e.code < 600:
                raise PermanentError(f"SMTP {e.code} {e.message}") from None
            raise TransientError(f"SMTP {e.code} {e.message}") from None
        except (aiosmtplib.SMTPException, OSError) as e:
            raise TransientError(f"SMTP: {e}") from None
        return SendResult(
            status="SENT",
            message_id=message_id(message.delivery_id),
            evidence={
                "smtp_response": response,
                "refused": {k: str(v) for k, v in errors.items()},
                # the archived artefacts sent, by hash (each is an archive entry)
                "attachments": [
                    {"filename": d.filename, "sha256": hashlib.sha256(d.content).hexdigest()}
                    for d in attachments(message)
                ],
            },
        )
