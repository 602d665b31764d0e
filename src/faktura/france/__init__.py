"""France's e-invoicing reform: life-cycle status messages (CDAR) and their place in the timeline."""
