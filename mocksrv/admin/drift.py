"""``GET /__mocksrv/apis/<api>/drift``: how the real API's answers, seen through the validating proxy,
differ from its spec, per operation (state/drift.py; docs/proxy.md). On the admin blueprint, so per
session too."""

from __future__ import annotations

import typing as t

from flask import Response
from flask import jsonify

from mocksrv.admin.api import _known_api
from mocksrv.admin.api import bp


@bp.get("/apis/<api_id>/drift")
@_known_api
def drift(pipeline: t.Any, api_id: str) -> Response:
    upstream = pipeline.upstream_for(api_id)
    return jsonify({**pipeline.state.drift.report(api_id), "upstream": upstream.base_url if upstream else None})
