"""``/__mocksrv/`` blueprint: what mocksrv serves, and its health (later: state, journal, faults)."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import request

bp = Blueprint("admin", __name__, url_prefix="/__mocksrv")


@bp.get("/apis")
def list_apis() -> Response:
    """Each mounted API: id, title, version, base URL and operations."""
    state = current_app.extensions["mocksrv"]
    root = request.host_url.rstrip("/")
    return jsonify({"apis": [
        {
            "id": api.id,
            "title": api.title,
            "version": api.api_version,
            "openapi": api.document.get("openapi"),
            "source": str(api.source),
            "base_url": root + api.mount,
            "operations": [{"method": op.method.upper(), "path": op.template, "operationId": op.operation_id}
                           for op in api.operations],
            "warnings": api.warnings,
        }
        for api in state.pipeline.apis
    ]})


@bp.get("/health")
def health() -> Response:
    state = current_app.extensions["mocksrv"]
    return jsonify({"status": "ok", "apis": len(state.pipeline.apis)})
