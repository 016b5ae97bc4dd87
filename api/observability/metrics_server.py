"""Serve `/metrics` on a separate, internal port (`SWITCHBOARD_METRICS_PORT`)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from api.observability.service import Observability

if TYPE_CHECKING:
    from api.settings import Settings

logger = logging.getLogger(__name__)

REFRESH_SECONDS = 15.0
"""How often the database-backed gauges are re-read for the separate port."""


@dataclass
class MetricsServer:
    """prometheus_client's HTTP server thread plus the gauge-refresh task."""

    server: Any
    thread: Any
    refresher: asyncio.Task

    async def stop(self) -> None:
        """Stop serving and refreshing."""
        self.refresher.cancel()
        self.server.shutdown()
        self.server.server_close()
        await asyncio.to_thread(self.thread.join, 5)


async def serve_metrics(observability: Observability, settings: Settings) -> MetricsServer | None:
    """Start the metrics port when `SWITCHBOARD_METRICS_PORT` is set; None otherwise.

    The port has no authentication: bind it to an internal interface or network.
    """
    if settings.metrics_port is None:
        return None
    from prometheus_client import start_http_server

    server, thread = start_http_server(
        settings.metrics_port, addr=settings.host, registry=observability.metrics.registry
    )
    logger.info("metrics on http://%s:%d/metrics", settings.host, settings.metrics_port)
    return MetricsServer(server, thread, asyncio.create_task(_refresh_forever(observability)))


async def _refresh_forever(observability: Observability) -> None:
    while True:
        try:
            await observability.refresh_gauges()
        except Exception:
            logger.warning("could not refresh the approval gauges", exc_info=True)
        await asyncio.sleep(REFRESH_SECONDS)
