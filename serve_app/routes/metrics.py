"""``GET /metrics``: Prometheus metrics of this node, the service's (``luna_*``) and Ray's.
Not part of LUNA's API (not in the API document)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import PlainTextResponse, Response

from deployments.metrics import node_page

router = APIRouter(tags=["service"])
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/metrics", include_in_schema=False)
async def get_metrics() -> Response:
    """This node's metrics page from Ray's metrics agent; 503 when not running on Ray."""
    page = await node_page()
    if page is None:
        return PlainTextResponse(
            "metrics are exported by Ray's metrics agent: run the service on Ray\n",
            status_code=503,
        )
    return PlainTextResponse(page, media_type=CONTENT_TYPE)
