"""openapi-spec-validator, run on a whole document without its two wastes.

Its schema walk asks for the same places of the document again and again through
jsonschema-path's accessor, which resolves each from the root unless told to cache; and it
keeps the ids of the schemas it has seen in lists, asking ``in`` for every schema (quadratic:
Linode's spec has 8,000 schemas). Here the accessor caches and the lists answer ``in`` from a
set. The validator, its rules and its errors are unchanged: only the time goes (Linode's spec
from about 4 s of CPU to 2.5 with the other load-time savings; docs/decisions.md).
"""

from __future__ import annotations

import typing as t

from jsonschema_path import SchemaPath
from openapi_spec_validator import OpenAPIV30SpecValidator
from openapi_spec_validator import OpenAPIV31SpecValidator
from openapi_spec_validator.validation import keywords

if t.TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from openapi_spec_validator.validation.registries import KeywordValidatorRegistry

Json = t.Any
CACHED_PLACES = 16_384  # resolved places the accessor keeps while the validator walks


def first_error(document: dict[str, Json], version: str, base_uri: str,
                handlers: t.Mapping[str, t.Any]) -> ValidationError | None:
    """The first problem openapi-spec-validator finds in ``document`` (3.0 or 3.1), or None."""
    checked = SchemaPath.from_dict(document, base_uri=base_uri, handlers=handlers,
                                   resolved_cache_maxsize=CACHED_PLACES)
    validator = _SpecValidator30 if version == "3.0" else _SpecValidator31
    return next(validator(checked).iter_errors(), None)


class _Seen(list[int]):
    """The ids of the schemas the validator has seen, as the list it appends to; ``in`` asks a set."""

    def __init__(self) -> None:
        super().__init__()
        self._ids: set[int] = set()

    def append(self, item: int) -> None:
        self._ids.add(item)
        super().append(item)

    def __contains__(self, item: object) -> bool:
        return item in self._ids


class _SchemaValidator30(keywords.OpenAPIV30SchemaValidator):
    def __init__(self, registry: KeywordValidatorRegistry) -> None:
        super().__init__(registry)
        self.visited_schema_ids = _Seen()
        self.meta_checked_schema_ids = _Seen()


class _SchemaValidator31(keywords.OpenAPIV31SchemaValidator):
    def __init__(self, registry: KeywordValidatorRegistry) -> None:
        super().__init__(registry)
        self.visited_schema_ids = _Seen()
        self.meta_checked_schema_ids = _Seen()


class _SpecValidator30(OpenAPIV30SpecValidator):
    keyword_validators = {**OpenAPIV30SpecValidator.keyword_validators, "schema": _SchemaValidator30}  # noqa: RUF012 (as its base)


class _SpecValidator31(OpenAPIV31SpecValidator):
    keyword_validators = {**OpenAPIV31SpecValidator.keyword_validators, "schema": _SchemaValidator31}  # noqa: RUF012 (as its base)
