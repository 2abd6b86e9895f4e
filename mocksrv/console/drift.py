"""The console's Drift page: the validating proxy's report of how each upstream's answers differ
from its spec (state/drift.py, docs/proxy.md). Listed in the header only when an API has an upstream."""

from __future__ import annotations

import typing as t

from flask import render_template

from mocksrv.console.web import bp
from mocksrv.console.web import pipeline
from mocksrv.engine.upstream import Upstream


@bp.get("/drift")
def drift_page() -> str:
    served = pipeline()
    reports = [{**served.state.drift.report(api_id), "upstream": t.cast(Upstream, served.upstream_for(api_id)).base_url}
               for api_id in served.proxied_apis()]
    return render_template("console/drift.html", page="drift", reports=reports)
