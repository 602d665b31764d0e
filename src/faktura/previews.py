"""Draft previews, rendered beside the API process rather than in it.

WeasyPrint is CPU-bound pure Python that grows with the lines: in the API process (even in
a thread, which holds the GIL) one large preview would take the memory and the event loop
of every other tenant's requests. A preview is rendered in the spawned rendering process
that the `pdf.render` job uses (`documents._render_pool`), under a wall-clock bound: a
render that overruns it is stopped inside that process, which stays up for the next one.
"""

from __future__ import annotations

import asyncio
import signal
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from faktura.documents import _render_pool, renderer
from faktura.domain.document import Document
from faktura.render.pdf import Branding, Rendered


class PreviewTooSlow(Exception):
    """The preview overran its time bound."""


class RendererLost(Exception):
    """The rendering process died (killed, out of memory); a new one starts on the next call."""


async def render_preview(
    templates_dir: Path | None, doc: Document, *, branding: Branding, language: str, timeout: float
) -> Rendered:
    """The DRAFT-stamped PDF of `doc`, rendered in the rendering process within `timeout` s."""
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(
            _render_pool(), _render_in_child, templates_dir, doc, branding, language, timeout
        )
    except BrokenProcessPool:
        _render_pool.cache_clear()
        raise RendererLost from None


def _render_in_child(
    templates_dir: Path | None, doc: Document, branding: Branding, language: str, timeout: float
) -> Rendered:
    """Runs in the rendering process's main thread, where SIGALRM interrupts the render."""

    def overrun(signum: int, frame: Any) -> None:
        raise PreviewTooSlow(timeout)

    previous = signal.signal(signal.SIGALRM, overrun)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return renderer(templates_dir).render(doc, branding=branding, language=language, draft=True)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
