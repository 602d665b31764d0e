"""Settings: read from the environment once, then passed around explicitly.

Nothing reads `os.environ` at import time; `Settings.from_env()` is called by the CLI (or a
test) and the result handed to `create_app`, the migrator and the worker.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

APP_ROLE = "faktura_app"


@dataclass(frozen=True)
class DeliverySettings:
    """Sending: SMTP, the Peppol access point, retries. Durations are seconds."""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    #: Sender when a tenant configures none.
    email_from: str = "invoices@faktura.invalid"
    #: Base URL of an access point speaking docs/peppol-access-point.md; absent → the
    #: built-in sandbox access point when it is on, else Peppol sends fail.
    peppol_ap_url: str | None = None
    peppol_ap_token: str | None = None
    #: FAKTURA_PEPPOL_AP_KIND: which API the AP at `peppol_ap_url` speaks: `contract`
    #: (docs/peppol-access-point.md), `e-invoice-be` or `phoss-ap`.
    peppol_ap_kind: str = "contract"
    #: Secret of the e-invoice.be webhook (FAKTURA_PEPPOL_AP_WEBHOOK_SECRET).
    peppol_ap_webhook_secret: str | None = None
    #: Polling an AP for statuses: first after this many seconds, then doubling up to
    #: `retry_cap`, for at most `peppol_ap_poll_for` seconds.
    peppol_ap_poll_interval: float = 60.0
    peppol_ap_poll_for: float = 14 * 86400.0
    #: Native participant discovery (SML U-NAPTR + signed SMP metadata) before each send.
    peppol_discovery: bool = False
    #: SML zone: OpenPeppol production `edelivery.tech.ec.europa.eu`, test
    #: `acc.edelivery.tech.ec.europa.eu`.
    peppol_sml_zone: str = "edelivery.tech.ec.europa.eu"
    #: DNS server for SML look-ups, `host[:port]`; none → the system resolver.
    peppol_dns_server: str | None = None
    #: PEM file of the CA certificates an SMP's signing certificate must chain to.
    peppol_smp_trust: str | None = None
    #: FAKTURA_SECRETS_KEY: 32 bytes, base64; encrypts tenants' access point credentials.
    secrets_key: str | None = None
    #: The built-in sandbox access point (in the worker, and over HTTP at
    #: /sandbox/peppol-ap). `FAKTURA_PEPPOL_SANDBOX=1`/`0`; unset: on only for the embedded
    #: database (no DATABASE_URL).
    sandbox: bool = False
    #: Bearer token the access point presents on POST /v1/peppol/callback; none → every
    #: callback is refused (the sandbox reports in-process and needs none).
    peppol_callback_token: str | None = None
    #: FAKTURA_OUTBOUND_ALLOW: networks, addresses or host names that tenant-given URLs may
    #: reach although they are not public (see faktura.delivery.outbound).
    outbound_allow: tuple[str, ...] = ()
    #: How long the sandbox waits before it reports delivery, and then the Invoice Response.
    sandbox_report_delay: float = 1.0
    send_timeout: float = 30.0
    #: A claimed send is exclusive for this long; it must exceed `send_timeout`.
    lease: float = 60.0
    max_attempts: int = 8
    retry_base: float = 30.0
    retry_cap: float = 3600.0
    #: A tenant webhook endpoint is disabled after this many failed attempts in a row.
    webhook_disable_after: int = 20
    #: pgqueuer re-picks a job whose worker stopped heart-beating for this long.
    job_heartbeat_timeout: float = 30.0
    #: FAKTURA_PUBLIC_URL: this deployment's public base URL, for callbacks a third party
    #: is told to call (a French PA's webhook); unset: the URL the API request came to.
    public_url: str | None = None

    @classmethod
    def from_env(cls, e: dict[str, str]) -> DeliverySettings:
        d = cls()

        def num(name: str, default: float) -> float:
            return float(e[name]) if e.get(name) else default

        return cls(
            smtp_host=e.get("FAKTURA_SMTP_HOST") or d.smtp_host,
            smtp_port=int(num("FAKTURA_SMTP_PORT", d.smtp_port)),
            smtp_username=e.get("FAKTURA_SMTP_USERNAME") or None,
            smtp_password=e.get("FAKTURA_SMTP_PASSWORD") or None,
            smtp_starttls=e.get("FAKTURA_SMTP_STARTTLS") == "1",
            email_from=e.get("FAKTURA_EMAIL_FROM") or d.email_from,
            peppol_ap_url=e.get("FAKTURA_PEPPOL_AP_URL") or None,
            peppol_ap_token=e.get("FAKTURA_PEPPOL_AP_TOKEN") or None,
            peppol_ap_kind=e.get("FAKTURA_PEPPOL_AP_KIND") or d.peppol_ap_kind,
            peppol_ap_webhook_secret=e.get("FAKTURA_PEPPOL_AP_WEBHOOK_SECRET") or None,
            peppol_ap_poll_interval=num("FAKTURA_PEPPOL_AP_POLL_INTERVAL", d.peppol_ap_poll_interval),
            peppol_ap_poll_for=num("FAKTURA_PEPPOL_AP_POLL_FOR", d.peppol_ap_poll_for),
            peppol_discovery=e.get("FAKTURA_PEPPOL_DISCOVERY") == "1",
            peppol_sml_zone=e.get("FAKTURA_PEPPOL_SML_ZONE") or d.peppol_sml_zone,
            peppol_dns_server=e.get("FAKTURA_PEPPOL_DNS_SERVER") or None,
            peppol_smp_trust=e.get("FAKTURA_PEPPOL_SMP_TRUST") or None,
            secrets_key=e.get("FAKTURA_SECRETS_KEY") or None,
            sandbox=(e["FAKTURA_PEPPOL_SANDBOX"].lower() in ("1", "true", "yes", "on"))
            if e.get("FAKTURA_PEPPOL_SANDBOX")
            else not e.get("DATABASE_URL"),
            peppol_callback_token=e.get("FAKTURA_PEPPOL_CALLBACK_TOKEN") or None,
            outbound_allow=tuple(x for x in re.split(r"[\s,]+", e.get("FAKTURA_OUTBOUND_ALLOW", "")) if x),
            sandbox_report_delay=num("FAKTURA_SANDBOX_REPORT_DELAY", d.sandbox_report_delay),
            send_timeout=num("FAKTURA_SEND_TIMEOUT", d.send_timeout),
            lease=num("FAKTURA_DELIVERY_LEASE", d.lease),
            max_attempts=int(num("FAKTURA_DELIVERY_MAX_ATTEMPTS", d.max_attempts)),
            retry_base=num("FAKTURA_RETRY_BASE", d.retry_base),
            retry_cap=num("FAKTURA_RETRY_CAP", d.retry_cap),
            webhook_disable_after=int(num("FAKTURA_WEBHOOK_DISABLE_AFTER", d.webhook_disable_after)),
            job_heartbeat_timeout=num("FAKTURA_JOB_HEARTBEAT_TIMEOUT", d.job_heartbeat_timeout),
            public_url=e.get("FAKTURA_PUBLIC_URL") or None,
        )

    def problems(self) -> list[str]:
        """Configurations that must not start: each a sentence for the operator."""
        from faktura.delivery.outbound import Policy

        out = []
        if self.peppol_ap_kind not in ("contract", "e-invoice-be", "phoss-ap"):
            out.append(
                f"FAKTURA_PEPPOL_AP_KIND must be contract, e-invoice-be or phoss-ap, not `{self.peppol_ap_kind}`."
            )
        if self.secrets_key and not _is_key(self.secrets_key):
            out.append(
                "FAKTURA_SECRETS_KEY must be 32 random bytes in base64 (e.g. `openssl rand -base64 32`)."
            )
        if self.peppol_discovery and not self.peppol_smp_trust:
            out.append(
                "FAKTURA_PEPPOL_DISCOVERY=1 needs FAKTURA_PEPPOL_SMP_TRUST: the PEM file of the CAs"
                " SMP signatures are checked against."
            )
        if self.peppol_ap_url and self.peppol_ap_kind == "contract" and not self.peppol_callback_token:
            out.append(
                "FAKTURA_PEPPOL_AP_URL is set but FAKTURA_PEPPOL_CALLBACK_TOKEN is not: the access"
                " point's receipts and Invoice Responses could not be authenticated. Set it to a long"
                " random secret and give the same to the access point."
            )
        if self.peppol_ap_url and urlsplit(self.peppol_ap_url).scheme not in ("http", "https"):
            out.append(f"FAKTURA_PEPPOL_AP_URL must be an http(s) URL, not `{self.peppol_ap_url}`.")
        try:
            Policy.parse(self.outbound_allow)
        except ValueError as e:
            out.append(str(e))
        return out


def _is_key(value: str) -> bool:
    import base64
    import binascii

    try:
        return len(base64.b64decode(value, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


@dataclass(frozen=True)
class RateLimitSettings:
    """Requests per second and burst, per tenant and per platform, in each server process
    (see `faktura.api.ratelimit`). A rate of 0 turns that limit off."""

    tenant_rate: float = 50.0
    tenant_burst: int = 100
    platform_rate: float = 250.0
    platform_burst: int = 500

    @classmethod
    def from_env(cls, e: dict[str, str]) -> RateLimitSettings:
        d = cls()
        return cls(
            tenant_rate=float(e.get("FAKTURA_RATE_LIMIT_TENANT") or d.tenant_rate),
            tenant_burst=int(e.get("FAKTURA_RATE_LIMIT_TENANT_BURST") or d.tenant_burst),
            platform_rate=float(e.get("FAKTURA_RATE_LIMIT_PLATFORM") or d.platform_rate),
            platform_burst=int(e.get("FAKTURA_RATE_LIMIT_PLATFORM_BURST") or d.platform_burst),
        )


@dataclass(frozen=True)
class Settings:
    #: Owner connection: runs migrations. Absent → an embedded PostgreSQL in `data_dir`.
    database_url: str | None = None
    #: Connection the API uses: a non-owner role without BYPASSRLS, so row-level security
    #: applies. Default: `database_url` with the user swapped for `faktura_app`.
    app_database_url: str | None = None
    app_db_password: str | None = None
    #: The worker's queue connection (it LISTENs for new jobs, so it needs a session of its
    #: own): behind pgbouncer in transaction pooling mode, point it at PostgreSQL or at a
    #: session-mode pool. Default: `app_dsn()`.
    queue_database_url: str | None = None
    data_dir: Path = field(default_factory=lambda: Path(".faktura"))
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    #: Bulk chunks one worker process runs at a time (`faktura.delivery.bulk`). More overlap
    #: a chunk's database waits but share the worker's event loop with every other job: at 4,
    #: another tenant's send waited 11.8 s behind a 10,000-item bulk (1.0 s at 1,
    #: `tests/test_fairness.py`). Scale bulk with worker processes instead.
    bulk_chunks: int = 1
    pool_min_size: int = 2
    pool_max_size: int = 10
    #: asyncpg's prepared-statement cache. Behind pgbouncer in transaction pooling mode it
    #: must be 0 (`FAKTURA_DB_STATEMENT_CACHE_SIZE=0`): a prepared statement lives on one
    #: server connection, and the next transaction may get another one.
    statement_cache_size: int = 100
    max_body_bytes: int = 2 * 1024 * 1024
    #: Default number format of new series; `{year}` and `{seq:05}` are filled at issue.
    default_invoice_series_format: str = "INV-{year}-{seq:05}"
    default_credit_note_series_format: str = "CN-{year}-{seq:05}"
    #: Mounts `POST /bench/baseline` (a bare INSERT of the body) for bench/issue.py only.
    bench_baseline: bool = False
    #: Where archived artefacts go: "fs" (files under `data_dir/archive`) or "s3".
    archive_backend: str = "fs"
    s3_endpoint_url: str | None = None
    s3_bucket: str = "faktura-archive"
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    #: HTML/CSS of the PDF designs; default: `templates/` of the source tree or the cwd.
    templates_dir: Path | None = None
    #: Largest accepted logo upload.
    logo_max_bytes: int = 512 * 1024
    #: Bearer token for `GET /metrics`; absent → no /metrics route.
    metrics_token: str | None = None
    #: `host:port` where `faktura worker` serves /metrics and /health; absent → none.
    worker_metrics_addr: str | None = None
    #: Seconds a draft PDF preview may take in the rendering process before it is refused.
    preview_timeout: float = 30.0
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    #: The day compliance checks take as today (which rule-set versions are in force); absent →
    #: the current UTC date. For tests and for trying an upcoming version on a staging system.
    today: dt.date | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = dict(os.environ if env is None else env)

        def get_int(name: str, default: int) -> int:
            return int(e[name]) if e.get(name) else default

        return cls(
            database_url=e.get("DATABASE_URL") or None,
            app_database_url=e.get("FAKTURA_APP_DATABASE_URL") or None,
            app_db_password=e.get("FAKTURA_APP_DB_PASSWORD") or None,
            queue_database_url=e.get("FAKTURA_QUEUE_DATABASE_URL") or None,
            data_dir=Path(e.get("FAKTURA_DATA_DIR") or ".faktura"),
            host=e.get("FAKTURA_HOST") or "127.0.0.1",
            port=get_int("FAKTURA_PORT", 8000),
            workers=get_int("FAKTURA_WORKERS", 1),
            bulk_chunks=max(1, get_int("FAKTURA_BULK_CHUNKS", 1)),
            pool_min_size=get_int("FAKTURA_DB_POOL_MIN", 2),
            pool_max_size=get_int("FAKTURA_DB_POOL_MAX", 10),
            statement_cache_size=get_int("FAKTURA_DB_STATEMENT_CACHE_SIZE", 100),
            max_body_bytes=get_int("FAKTURA_MAX_BODY_BYTES", 2 * 1024 * 1024),
            bench_baseline=e.get("FAKTURA_BENCH_BASELINE") == "1",
            archive_backend=e.get("FAKTURA_ARCHIVE_BACKEND") or "fs",
            s3_endpoint_url=e.get("FAKTURA_S3_ENDPOINT_URL") or None,
            s3_bucket=e.get("FAKTURA_S3_BUCKET") or "faktura-archive",
            s3_region=e.get("FAKTURA_S3_REGION") or "us-east-1",
            s3_access_key_id=e.get("FAKTURA_S3_ACCESS_KEY_ID") or None,
            s3_secret_access_key=e.get("FAKTURA_S3_SECRET_ACCESS_KEY") or None,
            templates_dir=Path(e["FAKTURA_TEMPLATES_DIR"]) if e.get("FAKTURA_TEMPLATES_DIR") else None,
            logo_max_bytes=get_int("FAKTURA_LOGO_MAX_BYTES", 512 * 1024),
            metrics_token=e.get("FAKTURA_METRICS_TOKEN") or None,
            worker_metrics_addr=e.get("FAKTURA_WORKER_METRICS_ADDR") or None,
            preview_timeout=float(e.get("FAKTURA_PREVIEW_TIMEOUT") or 30.0),
            delivery=DeliverySettings.from_env(e),
            rate_limits=RateLimitSettings.from_env(e),
            today=dt.date.fromisoformat(e["FAKTURA_TODAY"]) if e.get("FAKTURA_TODAY") else None,
        )

    def check_day(self) -> dt.date:
        """The day of a compliance check: `today` when set, else the current UTC date."""
        return self.today or dt.datetime.now(dt.UTC).date()

    def with_database(self, database_url: str) -> Settings:
        """A copy pointing at a concrete database (used once the embedded one is up)."""
        from dataclasses import replace

        return replace(self, database_url=database_url)

    def app_dsn(self) -> str:
        """DSN of the non-owner application role."""
        if self.app_database_url:
            return self.app_database_url
        if not self.database_url:
            raise RuntimeError("no database configured")
        parts = urlsplit(self.database_url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        auth = APP_ROLE if not self.app_db_password else f"{APP_ROLE}:{self.app_db_password}"
        netloc = f"{auth}@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
