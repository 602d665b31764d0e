"""The ASGI application: `create_app(settings)` wires controllers, errors and the pool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar, MediaType, Request, Response, Router, get, post
from litestar.config.app import AppConfig
from litestar.exceptions import HTTPException
from litestar.openapi.config import OpenAPIConfig

from faktura import __version__
from faktura.api.archive import ArchiveController, InvoiceArchiveController
from faktura.api.branding import BrandingController
from faktura.api.bulk import BulkController
from faktura.api.compliance import ComplianceController
from faktura.api.contacts import ContactController
from faktura.api.contract import HEAD_OPERATIONS
from faktura.api.delivery import DeliverySettingsController, InvoiceDeliveryController
from faktura.api.documents import DocumentController
from faktura.api.errors import ApiError, handle_api_error, handle_http_exception, handle_internal
from faktura.api.france import FrancePaController
from faktura.api.gate import authenticate
from faktura.api.health import health, ready
from faktura.api.invoices import InvoiceController
from faktura.api.methods import install as install_methods
from faktura.api.observability import RequestObservability, metrics
from faktura.api.peppol import (
    EInvoiceBeWebhookController,
    PeppolCallbackController,
    PeppolDiscoveryController,
    SandboxAccessPointController,
    TenantAccessPointController,
)
from faktura.api.ratelimit import RateLimiter, rate_limit_headers
from faktura.api.schema import openapi_document
from faktura.api.series import NumberSeriesController
from faktura.api.tenants import TenantController
from faktura.api.webhook_endpoints import WebhookEndpointController
from faktura.logs import configure_logging
from faktura.settings import Settings
from faktura.startup import freeze_startup_objects

CONTROLLERS = [
    TenantController,
    ContactController,
    ComplianceController,
    InvoiceController,
    NumberSeriesController,
    BulkController,
    InvoiceDeliveryController,
    DeliverySettingsController,
    WebhookEndpointController,
    PeppolCallbackController,
    EInvoiceBeWebhookController,
    PeppolDiscoveryController,
    TenantAccessPointController,
    FrancePaController,
    DocumentController,
    InvoiceArchiveController,
    ArchiveController,
    BrandingController,
]


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else msgspec.json.encode(value).decode()


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Python values go in as JSON; a str is taken as JSON text already (that is how pgqueuer
    # passes its headers), so nothing is encoded twice.
    for typ in ("jsonb", "json"):
        await conn.set_type_codec(typ, encoder=_json_text, decoder=msgspec.json.decode, schema="pg_catalog")


async def _end_transaction_only(conn: asyncpg.Connection) -> None:
    """A released connection's reset: asyncpg has already rolled back an open transaction.

    Its default reset sends a query on every release (advisory unlock, CLOSE ALL, UNLISTEN,
    RESET ALL): a round trip per request for state Faktura never leaves on a session. Every
    setting is `set_config(..., true)` / `SET LOCAL` and every lock `pg_advisory_xact_lock`,
    all ended by the transaction (`tests/test_pool_reset.py` keeps it that way)."""


async def create_pool(settings: Settings) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        settings.app_dsn(),
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        statement_cache_size=settings.statement_cache_size,
        init=_init_connection,
        reset=_end_transaction_only,
    )
    assert pool is not None
    return pool


@get("/schema/openapi.json", operation_id="openapi", include_in_schema=False)
async def openapi_json(request: Request[Any, Any, Any]) -> Response[bytes]:
    return Response(msgspec.json.encode(openapi_document(request.app)), media_type=MediaType.JSON)


@post("/bench/baseline", operation_id="bench_baseline", include_in_schema=False, status_code=201)
async def bench_baseline(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The benchmark's baseline: the same stack, but only one INSERT of the request JSON."""
    body = await request.body()
    async with request.app.state.pool.acquire() as conn:
        await conn.execute("INSERT INTO bench_baseline (body) VALUES ($1::text::jsonb)", body.decode())
    return Response(b'{"model":null,"warnings":[],"errors":[]}', media_type=MediaType.JSON, status_code=201)


def create_app(settings: Settings) -> Litestar:
    if problems := settings.delivery.problems():
        raise ValueError("configuration error: " + " ".join(problems))

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.pool = await create_pool(settings)
        freeze_startup_objects()
        try:
            yield
        finally:
            await app.state.pool.close()

    def on_app_init(config: AppConfig) -> AppConfig:
        config.state["settings"] = settings
        config.state["rate_limiter"] = RateLimiter(settings.rate_limits)
        return config

    app = Litestar(
        route_handlers=[
            # Credentials before the body: every API route is behind the gate.
            Router(path="/", route_handlers=CONTROLLERS, guards=[authenticate]),
            health,
            ready,
            openapi_json,
            *([bench_baseline] if settings.bench_baseline else []),
            *([SandboxAccessPointController] if settings.delivery.sandbox else []),
            *([metrics] if settings.metrics_token else []),
        ],
        lifespan=[lifespan],
        middleware=[rate_limit_headers],
        on_app_init=[on_app_init],
        exception_handlers={
            ApiError: handle_api_error,
            HTTPException: handle_http_exception,
            Exception: handle_internal,
        },
        openapi_config=OpenAPIConfig(title="Faktura", version=__version__, path="/schema/litestar"),
        request_max_body_size=settings.max_body_bytes,
        logging_config=None,  # faktura.logs configures logging (JSON lines) in the CLI
        debug=False,
    )
    # Outermost, so that requests answered by the router itself (404, 405) are covered too.
    app = install_methods(app, HEAD_OPERATIONS)
    app.asgi_handler = RequestObservability(app.asgi_handler)
    return app


def app_from_env() -> Litestar:
    """Factory for `uvicorn --factory` (several worker processes)."""
    configure_logging()
    return create_app(Settings.from_env())
