"""mocksrv's value generator side by side with hypothesis-jsonschema, on the bundled specs' schemas.

For every response body schema of the specs given (default: specs/), each generator makes
``--values`` values; the table gives the median time per value, how many values are valid
under the OpenAPI dialect (mocksrv's validator: ``nullable``, readOnly/writeOnly, formats),
and whether a second run with the same seed gives the same values. hypothesis-jsonschema
is not a dependency of mocksrv; install it where this runs (docs/decisions.md, "The value
generator is ours")::

    .venv/bin/pip install --target /tmp/hjlib --no-deps hypothesis-jsonschema
    PYTHONPATH=/tmp/hjlib .venv/bin/python bench/generator_peer.py
"""

from __future__ import annotations

import argparse
import copy
import functools
import random
import statistics
import sys
import time
import typing as t
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mocksrv.engine.generator import SchemaGenerator  # noqa: E402
from mocksrv.openapi.specs import ApiSpec  # noqa: E402
from mocksrv.openapi.specs import load_specs  # noqa: E402

Json = t.Any


def inlined(api: ApiSpec, node: Json, depth: int = 0) -> Json:
    """The schema with every ``$ref`` replaced by its target (hypothesis-jsonschema resolves no
    refs into an OpenAPI document); cycles stop at depth 12 as an empty schema."""
    node, _ = api.deref(node)
    if depth > 12:
        return {}
    if isinstance(node, dict):
        return {key: inlined(api, value, depth + 1) for key, value in node.items()}
    if isinstance(node, list):
        return [inlined(api, value, depth + 1) for value in node]
    return copy.deepcopy(node)


def response_schemas(api: ApiSpec) -> t.Iterator[tuple[str, Json]]:
    for operation in api.operations:
        for status, node in (operation.spec.get("responses") or {}).items():
            response, resolver = api.deref(node)
            for media_type, media in ((response or {}).get("content") or {}).items():
                media, _ = api.deref(media, resolver)
                if "json" in media_type and isinstance(media, dict) and "schema" in media:
                    yield f"{api.id} {operation.key} {status}", media["schema"]


def ours(api: ApiSpec, schema: Json, count: int, seed: int) -> list[Json]:
    generator = SchemaGenerator(api.resolver, openapi_version=api.version, use_examples=False)
    return [generator.generate(schema, random.Random(f"{seed}|{n}")) for n in range(count)]


def theirs(schema: Json, count: int, seed: int) -> list[Json]:
    from hypothesis import HealthCheck
    from hypothesis import given
    from hypothesis import seed as hypothesis_seed
    from hypothesis import settings
    from hypothesis_jsonschema import from_schema

    found: list[Json] = []

    @hypothesis_seed(seed)
    @settings(max_examples=count, database=None, deadline=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(from_schema(schema))
    def collect(value: Json) -> None:
        found.append(value)

    collect()
    return found[:count]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("specs", nargs="*", type=Path, default=[ROOT / "specs"])
    parser.add_argument("--values", type=int, default=20, help="values per schema and generator")
    args = parser.parse_args(argv)
    apis, _ = load_specs(args.specs)
    rows: dict[str, list[float]] = {"mocksrv": [], "hypothesis-jsonschema": []}
    valid = {name: 0 for name in rows}
    made = {name: 0 for name in rows}
    same = {name: 0 for name in rows}
    failed: list[str] = []
    schemas = 0
    for api in apis:
        checker = SchemaGenerator(api.resolver, openapi_version=api.version)
        for label, schema in response_schemas(api):
            schemas += 1
            plain = inlined(api, schema)
            makers: list[tuple[str, t.Callable[[int], list[Json]]]] = [
                ("mocksrv", functools.partial(ours, api, schema, args.values)),
                ("hypothesis-jsonschema", functools.partial(theirs, plain, args.values))]
            for name, make in makers:
                started = time.perf_counter()
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        values = make(1)
                        again = make(1)
                except Exception as exc:  # a schema the generator cannot handle is a result too
                    failed.append(f"{name}: {label}: {type(exc).__name__}: {str(exc)[:120]}")
                    continue
                elapsed = (time.perf_counter() - started) / 2
                rows[name].append(elapsed / max(1, len(values)) * 1e6)
                made[name] += len(values)
                valid[name] += sum(checker.is_valid(schema, value) for value in values)
                same[name] += values == again
    print(f"{schemas} response body schemas of {len(apis)} specs, {args.values} values each\n")
    print("| generator | median µs per value | values valid (OpenAPI dialect) | same values for the same seed |")
    print("|---|---|---|---|")
    for name, times in rows.items():
        median = f"{statistics.median(times):,.0f}" if times else "—"
        print(f"| {name} | {median} | {valid[name]} / {made[name]} | {same[name]} / {len(times)} schemas |")
    for line in failed:
        print(f"\nfailed: {line}", end="")
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
