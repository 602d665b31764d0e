"""UBL 2.1 renderer (Peppol BIS Billing 3.0): one module per aggregate, assembled in `document`."""

from faktura.render.ubl.document import PROFILES, render_ubl

__all__ = ["PROFILES", "render_ubl"]
