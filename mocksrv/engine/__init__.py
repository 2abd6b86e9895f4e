"""Answering one mocked request: the stages in order (`pipeline`), routing, credentials and
access policy, request and response validation (with the `fastpath` checks in front of
openapi-core), response synthesis and value generation, ``Prefer``, and what a REST operation
does to stored records (`records`). Framework-free: no Flask, no HTTP server."""
