"""An API process moves its start-up objects out of the cyclic collector's view once it has
started (`faktura.startup`): a full collection then walks only what requests made."""

from __future__ import annotations

import gc
import time

from litestar.testing import AsyncTestClient

from faktura.api.app import create_app
from faktura.settings import Settings


def _full_collection_ms() -> float:
    started = time.perf_counter()
    gc.collect()
    return (time.perf_counter() - started) * 1000


async def test_the_api_freezes_its_start_up_objects(settings: Settings) -> None:
    gc.unfreeze()
    before = _full_collection_ms()
    try:
        async with AsyncTestClient(create_app(settings)) as client:  # runs the lifespan
            assert gc.get_freeze_count() > 50_000  # modules, routes, schemas: all of them
            assert (await client.get("/health")).status_code == 200
            after = _full_collection_ms()
    finally:
        gc.unfreeze()  # the rest of the suite runs as it did
    assert after < before / 5, (before, after)
