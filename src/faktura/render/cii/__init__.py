"""UN/CEFACT Cross Industry Invoice renderer (EN 16931, XRechnung, Factur-X / ZUGFeRD):
one module per aggregate, assembled in `document`."""

from faktura.render.cii.document import PROFILES, CiiProfile, render_cii

__all__ = ["PROFILES", "CiiProfile", "render_cii"]
