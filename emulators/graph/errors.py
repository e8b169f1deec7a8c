"""Graph's and Entra ID's error bodies, as the services write them (../shared/reference/microsoft-graph.md §12)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from emulators.base import Response
from emulators.graph.model import now


def graph_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    inner = {"date": now(), "request-id": secrets.token_hex(16), "client-request-id": secrets.token_hex(16)}
    return Response.json(status, {"error": {"code": code, "message": message, "innerError": inner}}, headers)


def aad_error(status: int, error: str, code: int, description: str) -> Response:
    return Response.json(
        status,
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description}",
            "error_codes": [code],
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": secrets.token_hex(16),
            "correlation_id": secrets.token_hex(16),
        },
    )


def item_not_found() -> Response:
    return graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
