"""The OpenAPI dialect of JSON Schema validation the generator checks its values with:
openapi-schema-validator's classes, plus 3.0's direction rules (a readOnly property is left
out of requests and a writeOnly one out of responses, and neither is then required)."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING
from typing import Any

from jsonschema.exceptions import ValidationError
from jsonschema.validators import extend
from openapi_schema_validator import OAS30Validator
from openapi_schema_validator import OAS31Validator
from referencing.exceptions import Unresolvable

if TYPE_CHECKING:  # referencing exports Resolver only from its _core module
    from referencing._core import Resolver

DIRECTIONS = ("response", "request")
NEUTRAL = "neutral"


def _has_flag(schema: Any, flag: str, resolver: Resolver[Any] | None, depth: int = 0) -> bool:
    """Whether readOnly/writeOnly is set on a schema, following $ref and allOf."""
    if not isinstance(schema, Mapping) or depth > 16:
        return False
    if schema.get(flag) is True:
        return True
    ref = schema.get("$ref")
    if isinstance(ref, str) and resolver is not None:
        try:
            resolved = resolver.lookup(ref)
        except Unresolvable:
            return False
        if _has_flag(resolved.contents, flag, resolved.resolver, depth + 1):
            return True
    all_of = schema.get("allOf")
    if isinstance(all_of, list):
        return any(_has_flag(sub, flag, resolver, depth + 1) for sub in all_of)
    return False


def _required_keyword(flag: str) -> Callable[[Any, Any, Any, Any], Iterator[ValidationError]]:
    """`required` that skips properties hidden in this direction (OpenAPI semantics)."""

    def required(validator: Any, names: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
        if not validator.is_type(instance, "object") or not isinstance(names, list):
            return
        props = schema.get("properties")
        props = props if isinstance(props, Mapping) else {}
        resolver = getattr(validator, "_resolver", None)
        for name in names:
            if name in instance:
                continue
            if name in props and _has_flag(props[name], flag, resolver):
                continue
            yield ValidationError(f"{name!r} is a required property")

    return required


def _forbid_keyword(flag: str) -> Callable[[Any, Any, Any, Any], Iterator[ValidationError]]:
    """Reject values under a schema that must not appear in this direction."""

    def forbid(validator: Any, value: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
        if value is True:
            yield ValidationError(f"{flag} value must not be present here")

    return forbid


def hidden_flag(direction: str) -> str:
    """The flag whose properties are left out in this direction."""
    return "writeOnly" if direction == "response" else "readOnly"


def _validator_classes(base: Any, *, directional: bool) -> Mapping[str, Any]:
    """Direction-aware validator classes (like OAS30Read/WriteValidator).

    Only for 3.0: in 3.1 readOnly/writeOnly are JSON Schema annotations, and openapi-core
    (our source of truth) validates 3.1 with the plain validator, so a required writeOnly
    property is required in responses too.
    """
    classes = {NEUTRAL: base}
    for direction in DIRECTIONS:
        flag = hidden_flag(direction)
        classes[direction] = (
            extend(base, {"required": _required_keyword(flag), flag: _forbid_keyword(flag)}) if directional else base
        )
    return MappingProxyType(classes)


CLASSES = MappingProxyType({
    "3.0": _validator_classes(OAS30Validator, directional=True),
    "3.1": _validator_classes(OAS31Validator, directional=False),
})
