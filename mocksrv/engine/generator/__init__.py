"""Fake JSON values valid under OpenAPI 3.0/3.1 Schema Objects, deterministic per seed:
`core` walks the schema, `strings` and `numbers` make the leaves, `dialect` checks them as
openapi-core would. Why ours and not a library: docs/decisions.md."""

from mocksrv.engine.generator.core import SchemaGenerator as SchemaGenerator
from mocksrv.engine.generator.core import jsonable as jsonable
