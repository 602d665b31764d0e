"""The background jobs of this package, for `faktura.worker.HANDLERS`."""

from __future__ import annotations

from typing import Any

from faktura.delivery import afnor_pa_jobs, bulk, sandbox, service, tenant_webhooks, tracking
from faktura.delivery.events import WEBHOOK_JOB

HANDLERS: dict[str, Any] = {
    service.SEND_JOB: service.run_delivery,
    WEBHOOK_JOB: tenant_webhooks.deliver,
    bulk.BULK_JOB: bulk.process,
    sandbox.REPORT_JOB: sandbox.report,
    tracking.TRACK_JOB: tracking.track,
    afnor_pa_jobs.TRACK_JOB: afnor_pa_jobs.track,
    afnor_pa_jobs.PULL_JOB: afnor_pa_jobs.pull,
    afnor_pa_jobs.STATUS_JOB: afnor_pa_jobs.submit_status,
}
