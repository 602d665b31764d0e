"""Send and track: channels behind one protocol, the delivery state machine, the timeline,
tenant webhooks and bulk issuing. Everything here runs in `faktura worker` except the
small request-side functions the API calls inside its own transaction."""
