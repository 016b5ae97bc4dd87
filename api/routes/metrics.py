"""`GET /metrics`: Prometheus text format, behind a bearer token in production."""

from __future__ import annotations

import hmac
import logging

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.deps import SettingsDep
from api.errors import Forbidden, NotFound, Unauthorized
from api.observability.service import Observability

logger = logging.getLogger(__name__)

router = APIRouter(tags=["observability"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, settings: SettingsDep) -> Response:
    """Return every metric in the Prometheus text exposition format."""
    if settings.metrics_port is not None:
        raise NotFound(f"Metrics are served on port {settings.metrics_port}, not here.")
    if settings.metrics_token is not None:
        expected = f"Bearer {settings.metrics_token.get_secret_value()}"
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise Unauthorized(
                "Metrics need 'Authorization: Bearer <SWITCHBOARD_METRICS_TOKEN>'.",
                headers={"WWW-Authenticate": "Bearer"},
            )
    elif not settings.is_development:
        raise Forbidden(
            "Metrics are not exposed: set SWITCHBOARD_METRICS_TOKEN, or SWITCHBOARD_METRICS_PORT "
            "for an internal port."
        )
    observability: Observability = request.app.state.observability
    try:
        await observability.refresh_gauges()
    except Exception:  # a scrape must still answer when the database is down
        logger.warning("could not refresh the approval gauges", exc_info=True)
    return Response(observability.metrics.render(), media_type=CONTENT_TYPE_LATEST)
