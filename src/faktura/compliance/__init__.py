"""The compliance engine: EN 16931, Peppol BIS 3 and XRechnung rules, natively, on the request.

`check_invoice` runs a profile's rule sets (`profiles.PROFILES`) over the input model and
returns every finding (official rule id, severity, message, JSON Pointer, business term).
"""
