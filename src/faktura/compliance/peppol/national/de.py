"""Germany: the XRechnung CIUS rules as Peppol applies them to German seller → German buyer
(DE-R-*), and the builder the XRechnung rule set reuses for its BR-DE-* ids.

One set of predicates, two id schemes and two scopes: `german_rules(ids, applies)`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from faktura.compliance.engine import Context, Rule
from faktura.compliance.findings import Severity
from faktura.compliance.identifiers import xr_iban
from faktura.compliance.predicates import normalize_space, present

SKONTO = re.compile(r"#(SKONTO)#TAGE=([0-9]+#PROZENT=[0-9]+\.[0-9]{2})(#BASISBETRAG=-?[0-9]+\.[0-9]{2})?#$")
GERMAN_VAT_CODES = frozenset({"S", "Z", "E", "AE", "K", "G", "L", "M"})

Applies = Callable[[Context], bool]
CodeIn = Callable[[str, tuple[str, ...]], bool]


def string_code_in(code: str, codes: tuple[str, ...]) -> bool:
    """XRechnung compares `normalize-space(code)` as strings."""
    return normalize_space(code) in codes


def numeric_code_in(code: str, codes: tuple[str, ...]) -> bool:
    """Peppol's DE block compares `cbc:PaymentMeansCode = (30, 58)`: as numbers."""
    try:
        return float(code) in {float(c) for c in codes}
    except ValueError:
        return False


def skonto_ok(terms: str | None) -> bool:
    """BR-DE-18: every payment-terms line starting with '#' is a well-formed Skonto line,
    and the text after the last '#…#' starts with a line break."""
    if not terms or not present(terms):
        return True
    lines = [ln for ln in re.split(r"\r?\n", terms) if normalize_space(ln).startswith("#")]
    if not lines:
        return True
    tail = re.split(r"#.+#", terms)[-1]
    return all(SKONTO.search(normalize_space(ln)) for ln in lines) and bool(re.match(r"^\s*\n", tail))


TYPE_CODES = ("326", "380", "384", "389", "381", "875", "876", "877")
#: `$XR-TELEPHONE-REGEX` and `$XR-EMAIL-REGEX` of the XRechnung Schematron (XPath's `\s` is
#: space, tab, CR and LF only)
TELEPHONE = re.compile(r"([0-9].*){3,}")
EMAIL = re.compile(r"^[^@ \t\n\r]+@([^@. \t\n\r]+\.)+[^@. \t\n\r]+$")
#: Peppol 3.0.18's `$XR-EMAIL-REGEX` (its DE-R-028; 3.0.21 took XRechnung's, `EMAIL`): stricter,
#: so an address it accepts `EMAIL` accepts too
EMAIL_3_0_18 = re.compile(
    r"^[a-zA-Z0-9!#\$%&\"*+/=?^_`{|}~-]+(\.[a-zA-Z0-9!#\$%&\"*+/=?^_`{|}~-]+)*"
    r"@([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?\.)+[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$"
)


def _plain_code(code: str) -> bool:
    """A code that compares equal to a listed one as a string exactly when it does as a number
    or normalised (no whitespace, sign, decimals or leading zeros)."""
    return code.isdigit() and code.isascii() and not code.startswith("0")


def _filled(text: str | None) -> bool:
    return bool(text) and not text.isspace()  # type: ignore[union-attr]


def german_irregular(ctx: Context) -> bool:
    """Screen of the German block (BR-DE-* / DE-R-*): the seller's full address and contact,
    the buyer's address, a buyer reference, a seller VAT or tax id, a plain type code, payment
    means whose code matches what they carry (IBANs that pass the German check, a direct debit
    with its creditor id and debited account), well-formed Skonto lines, attachments with
    distinct file names. Anything else runs the block's rules."""
    inv, seller, buyer = ctx.invoice, ctx.seller, ctx.buyer
    if seller is None or buyer is None or inv.tax_representative is not None:
        return True
    if inv.attachments:
        names = [d.filename for d in inv.attachments if d.content and d.filename is not None]
        if len(set(names)) != len(names):
            return True
    if ctx.type_code not in _QUIET_TYPE_CODES or not _filled(inv.buyer_reference):
        return True
    if inv.payment_terms is not None and "#" in inv.payment_terms and not skonto_ok(inv.payment_terms):
        return True
    if not (_filled(seller.vat_id) or _filled(seller.tax_registration_id)):
        return True
    for addr in (seller.address, buyer.address, inv.delivery.address if inv.delivery else None):
        if addr is not None and not (_filled(addr.city) and _filled(addr.postal_code)):
            return True
    c = seller.contact
    if c is None or not (_filled(c.name) and _filled(c.phone) and _filled(c.email)):
        return True
    if not (
        TELEPHONE.search(normalize_space(c.phone or ""))
        and EMAIL_3_0_18.search(normalize_space(c.email or ""))
    ):
        return True
    if not inv.payment_means:
        return True
    for pm in inv.payment_means:
        code = pm.code
        if not _plain_code(code):
            return True
        mandate = pm.mandate
        if mandate is not None and (
            code in ("30", "58", "48", "54", "55")
            or not (_filled(mandate.creditor_id) and _filled(mandate.debited_account))
        ):
            return True
        if code == "59":
            if mandate is None or pm.account is not None or pm.card is not None:
                return True
            if not xr_iban(mandate.debited_account or ""):
                return True
        elif code in ("30", "58"):
            if pm.account is None or pm.card is not None or (code == "58" and not xr_iban(pm.account.iban)):
                return True
        elif code in ("48", "54", "55") and (pm.card is None or pm.account is not None):
            return True
    t = ctx.totals
    return t is None or any(b.rate is None and b.category != "O" for b in t.breakdown)


_QUIET_TYPE_CODES = frozenset(["326", "380", "389", "381", "875", "876", "877"])  # TYPE_CODES without 384


def german_rules(
    ids: dict[str, str], applies: Applies, code_in: CodeIn, email: re.Pattern[str] = EMAIL
) -> tuple[Rule, ...]:
    """The German rules under the ids in `ids` (keyed by the DE-R number), where `applies`;
    `email` is the version's `$XR-EMAIL-REGEX`."""

    def scope(ctx: Context) -> bool:
        """One precondition for the whole block (a national gate may replace it with its own)."""
        return ctx.seller is not None and applies(ctx)

    def mk(
        key: str,
        message: str,
        check: Callable[[Context], Iterator[str]],
        bt: str,
        missing: bool = True,
        severity: Severity = Severity.FATAL,
    ) -> Rule:
        return Rule(
            ids[key],
            severity,
            message,
            check,
            bt,
            "MISSING_REQUIRED_FIELD" if missing else "INVALID_FIELD",
            when=scope,
            screen=german_irregular,
        )

    def warn(key: str, message: str, check: Callable[[Context], Iterator[str]], bt: str) -> Rule:
        return mk(key, message, check, bt, missing=False, severity=Severity.WARNING)

    def contact_written(ctx: Context) -> bool:
        c = ctx.seller.contact if ctx.seller else None
        return c is not None and (present(c.name) or present(c.phone) or present(c.email))

    def r001(ctx: Context) -> Iterator[str]:
        if not ctx.invoice.payment_means:
            yield ctx.at("payment_means")

    def r002(ctx: Context) -> Iterator[str]:
        if not contact_written(ctx):
            yield f"{ctx.seller_ptr}/contact"

    def seller_addr(field: str) -> Callable[[Context], Iterator[str]]:
        def check(ctx: Context) -> Iterator[str]:
            if ctx.seller and not present(getattr(ctx.seller.address, field)):
                yield f"{ctx.seller_ptr}/address/{field}"

        return check

    def contact_field(field: str) -> Callable[[Context], Iterator[str]]:
        def check(ctx: Context) -> Iterator[str]:
            if (
                contact_written(ctx)
                and ctx.seller
                and ctx.seller.contact
                and not present(getattr(ctx.seller.contact, field))
            ):
                yield f"{ctx.seller_ptr}/contact/{field}"

        return check

    def buyer_addr(field: str) -> Callable[[Context], Iterator[str]]:
        def check(ctx: Context) -> Iterator[str]:
            if ctx.buyer and not present(getattr(ctx.buyer.address, field)):
                yield f"{ctx.buyer_ptr}/address/{field}"

        return check

    def delivery_addr(field: str) -> Callable[[Context], Iterator[str]]:
        def check(ctx: Context) -> Iterator[str]:
            d = ctx.invoice.delivery
            if d is not None and d.address is not None and not present(getattr(d.address, field)):
                yield ctx.at("delivery", "address", field)

        return check

    def r014(ctx: Context) -> Iterator[str]:
        if ctx.totals:
            for b in ctx.totals.breakdown:
                if b.rate is None and b.category != "O":  # O's breakdown is written with 0
                    yield ctx.at("line_items")

    def r015(ctx: Context) -> Iterator[str]:
        if not present(ctx.invoice.buyer_reference):
            yield ctx.at("buyer_reference")

    def r016(ctx: Context) -> Iterator[str]:
        used = {c for c, _ in ctx.line_categories} | {ac.category for ac in ctx.doc_acs if ac.category}
        s = ctx.seller
        if (
            used & GERMAN_VAT_CODES
            and ctx.invoice.tax_representative is None
            and not (s and (present(s.vat_id) or present(s.tax_registration_id)))
        ):
            yield f"{ctx.seller_ptr}/vat_id"

    def r017(ctx: Context) -> Iterator[str]:
        if not code_in(ctx.type_code, TYPE_CODES):
            yield ctx.at("type_code")

    def r019(ctx: Context) -> Iterator[str]:
        for i, pm in enumerate(ctx.invoice.payment_means):
            if code_in(pm.code, ("58",)) and not xr_iban((pm.account.iban if pm.account else None) or ""):
                yield ctx.at("payment_means", i, "account", "iban")

    def r020(ctx: Context) -> Iterator[str]:
        for i, pm in enumerate(ctx.invoice.payment_means):
            if code_in(pm.code, ("59",)) and not xr_iban(
                (pm.mandate.debited_account if pm.mandate else None) or ""
            ):
                yield ctx.at("payment_means", i, "mandate", "debited_account")

    def r022(ctx: Context) -> Iterator[str]:
        """A file name (BT-125-2) must not repeat an earlier attachment's (compared as written)."""
        seen: set[str] = set()
        for i, doc in enumerate(ctx.invoice.attachments):
            if doc.content and doc.filename is not None:
                if doc.filename in seen:
                    yield ctx.at("attachments", i, "filename")
                seen.add(doc.filename)

    def r026(ctx: Context) -> Iterator[str]:
        if code_in(ctx.type_code, ("384",)) and not ctx.invoice.preceding_invoices:
            yield ctx.at("preceding_invoices")

    def contact_text(field: str, pattern: re.Pattern[str]) -> Callable[[Context], Iterator[str]]:
        def check(ctx: Context) -> Iterator[str]:
            if contact_written(ctx) and ctx.seller and ctx.seller.contact:
                value = getattr(ctx.seller.contact, field)
                if not pattern.search(normalize_space(value or "")):
                    yield f"{ctx.seller_ptr}/contact/{field}"

        return check

    def r018(ctx: Context) -> Iterator[str]:
        if not skonto_ok(ctx.invoice.payment_terms):
            yield ctx.at("payment_terms")

    def means(
        codes: tuple[str, ...], need: str, forbid: tuple[str, ...]
    ) -> tuple[Callable[[Context], Iterator[str]], Callable[[Context], Iterator[str]]]:
        def has(pm: object, what: str) -> bool:
            return getattr(pm, what) is not None

        def a(ctx: Context) -> Iterator[str]:
            for i, pm in enumerate(ctx.invoice.payment_means):
                if code_in(pm.code, codes) and not has(pm, need):
                    yield ctx.at("payment_means", i, need)

        def b(ctx: Context) -> Iterator[str]:
            for i, pm in enumerate(ctx.invoice.payment_means):
                if code_in(pm.code, codes) and any(has(pm, f) for f in forbid):
                    yield ctx.at("payment_means", i)

        return a, b

    def mandates(ctx: Context) -> bool:
        return any(pm.mandate is not None for pm in ctx.invoice.payment_means)

    def r030(ctx: Context) -> Iterator[str]:
        if not mandates(ctx):
            return
        sepa = any(
            pm.mandate is not None and present(pm.mandate.creditor_id) for pm in ctx.invoice.payment_means
        )
        for party in (ctx.seller, ctx.invoice.payee):
            if party is not None and any(i.scheme == "SEPA" and present(i.value) for i in party.identifiers):
                sepa = True
        if not sepa:
            i = next(i for i, pm in enumerate(ctx.invoice.payment_means) if pm.mandate is not None)
            yield ctx.at("payment_means", i, "mandate", "creditor_id")

    def r031(ctx: Context) -> Iterator[str]:
        if mandates(ctx) and not any(
            pm.mandate is not None and pm.mandate.debited_account and present(pm.mandate.debited_account)
            for pm in ctx.invoice.payment_means
        ):
            i = next(i for i, pm in enumerate(ctx.invoice.payment_means) if pm.mandate is not None)
            yield ctx.at("payment_means", i, "mandate", "debited_account")

    m23 = means(("30", "58"), "account", ("card", "mandate"))
    m24 = means(("48", "54", "55"), "card", ("account", "mandate"))
    m25 = means(("59",), "mandate", ("account", "card"))
    return (
        mk("001", 'An invoice shall contain information on "PAYMENT INSTRUCTIONS" (BG-16).', r001, "BG-16"),
        mk("002", 'The group "SELLER CONTACT" (BG-6) shall be transmitted.', r002, "BG-6"),
        mk("003", 'The element "Seller city" (BT-37) shall be transmitted.', seller_addr("city"), "BT-37"),
        mk("004", 'The element "Seller post code" (BT-38) shall be transmitted.', seller_addr("postal_code"), "BT-38"),
        mk("005", 'The element "Seller contact point" (BT-41) shall be transmitted.', contact_field("name"), "BT-41"),
        mk("006", 'The element "Seller contact telephone number" (BT-42) shall be transmitted.', contact_field("phone"), "BT-42"),
        mk("007", 'The element "Seller contact email address" (BT-43) shall be transmitted.', contact_field("email"), "BT-43"),
        mk("008", 'The element "Buyer city" (BT-52) shall be transmitted.', buyer_addr("city"), "BT-52"),
        mk("009", 'The element "Buyer post code" (BT-53) shall be transmitted.', buyer_addr("postal_code"), "BT-53"),
        mk("010", 'The element "Deliver to city" (BT-77) shall be transmitted if the group "DELIVER TO ADDRESS" (BG-15) is delivered.', delivery_addr("city"), "BT-77"),
        mk("011", 'The element "Deliver to post code" (BT-78) shall be transmitted if the group "DELIVER TO ADDRESS" (BG-15) is delivered.', delivery_addr("postal_code"), "BT-78"),
        mk("014", 'The element "VAT category rate" (BT-119) shall be provided.', r014, "BT-119"),
        mk("015", 'The element "Buyer reference" (BT-10) shall be provided.', r015, "BT-10"),
        mk("016", 'If one of the VAT codes S, Z, E, AE, K, G, L, or M is used, an invoice shall contain at least one of the following elements: "Seller VAT identifier" (BT-31) or "Seller tax registration identifier" (BT-32) or "SELLER TAX REPRESENTATIVE PARTY" (BG-11).', r016, "BT-31"),
        warn("017", 'The element "Invoice type code" (BT-3) should only contain the codes 326, 380, 384, 389, 381, 875, 876 or 877 of UNTDID 1001.', r017, "BT-3"),
        mk("018", "The Skonto lines of the payment terms (BT-20) must follow the XRechnung format (#SKONTO#TAGE=…#PROZENT=…#) and end with a line break.", r018, "BT-20", missing=False),
        warn("019", 'The element "Payment account identifier" (BT-84) should contain a valid IBAN if code 58 SEPA is provided in "Payment means type code" (BT-81).', r019, "BT-84"),
        warn("020", 'The element "Debited account identifier" (BT-91) should contain a valid IBAN if code 59 SEPA is provided in "Payment means type code" (BT-81).', r020, "BT-91"),
        mk("022", 'Attached documents provided with an invoice in "ADDITIONAL SUPPORTING DOCUMENTS" (BG-24) shall have a unique filename within the element "Attached document" (BT-125).', r022, "BT-125-2", missing=False),
        mk("023-1", 'If "Payment means type code" (BT-81) is 30 or 58, "CREDIT TRANSFER" (BG-17) shall be provided.', m23[0], "BG-17"),
        mk("023-2", 'If "Payment means type code" (BT-81) is 30 or 58, "PAYMENT CARD INFORMATION" (BG-18) and "DIRECT DEBIT" (BG-19) shall not be provided.', m23[1], "BG-17", missing=False),
        mk("024-1", 'If "Payment means type code" (BT-81) is 48, 54 or 55, "PAYMENT CARD INFORMATION" (BG-18) shall be provided.', m24[0], "BG-18"),
        mk("024-2", 'If "Payment means type code" (BT-81) is 48, 54 or 55, "CREDIT TRANSFER" (BG-17) and "DIRECT DEBIT" (BG-19) shall not be provided.', m24[1], "BG-18", missing=False),
        mk("025-1", 'If "Payment means type code" (BT-81) is 59, "DIRECT DEBIT" (BG-19) shall be provided.', m25[0], "BG-19"),
        mk("025-2", 'If "Payment means type code" (BT-81) is 59, "CREDIT TRANSFER" (BG-17) and "PAYMENT CARD INFORMATION" (BG-18) shall not be provided.', m25[1], "BG-19", missing=False),
        mk("030", 'If "DIRECT DEBIT" (BG-19) is provided, "Bank assigned creditor identifier" (BT-90) shall be provided.', r030, "BT-90"),
        mk("031", 'If "DIRECT DEBIT" (BG-19) is provided, "Debited account identifier" (BT-91) shall be provided.', r031, "BT-91"),
        warn("026", 'If "Invoice type code" (BT-3) contains the code 384 (Corrected invoice), "PRECEDING INVOICE REFERENCE" (BG-3) should be provided at least once.', r026, "BG-3"),
        warn("027", '"Seller contact telephone number" (BT-42) should contain a valid telephone number of at least 3 digits.', contact_text("phone", TELEPHONE), "BT-42"),
        warn("028", '"Seller contact email address" (BT-43) should contain exactly one @-sign, framed by at least two characters on each side and not by a whitespace or a dot; a dot should not be the first or last character.', contact_text("email", email), "BT-43"),
    )  # fmt: skip


KEYS = [
    "001",
    "002",
    "003",
    "004",
    "005",
    "006",
    "007",
    "008",
    "009",
    "010",
    "011",
    "014",
    "015",
    "016",
    "017",
    "018",
    "019",
    "020",
    "022",
    "023-1",
    "023-2",
    "024-1",
    "024-2",
    "025-1",
    "025-2",
    "030",
    "031",
    "026",
    "027",
    "028",
]


def _de_de(ctx: Context) -> bool:
    return (ctx.seller_country or "").upper() == "DE" and (ctx.buyer_country or "").upper() == "DE"


RULES = german_rules({k: f"DE-R-{k}" for k in KEYS}, _de_de, numeric_code_in, EMAIL_3_0_18)
