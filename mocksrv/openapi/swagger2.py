"""Swagger 2.0 → OpenAPI 3.0.3, in memory, at load (docs/decisions.md, "Swagger 2.0").

`to_openapi30` is a pure function: the document in, an OpenAPI 3.0.3 document and warning
lines out, one line for each thing it had to assume or drop. It reads nothing else: a
``$ref`` to another file is left pointing at that file, which is then read as a 3.0 fragment.

The mapping follows the two specifications (versions/2.0.md and versions/3.0.3.md of
OAI/OpenAPI-Specification): host/basePath/schemes become servers, the reusable sections
become components, body and formData parameters become request bodies per ``consumes``
media type, response schemas become content per ``produces`` media type, a parameter's
type fields become its schema and its ``collectionFormat`` a style.
"""

from __future__ import annotations

import copy
import re
import typing as t
from urllib.parse import quote
from urllib.parse import unquote

from mocksrv.openapi.schema_repairs import only_null

Json = t.Any

OPENAPI_VERSION = "3.0.3"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
DEFAULT_MEDIA_TYPE = "application/json"
MULTIPART = "multipart/form-data"
URLENCODED = "application/x-www-form-urlencoded"
# 3.0 component names; 2.0 allowed any key (springfox writes "Page«Pet»")
COMPONENT_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
# a non-body parameter's (and a header's) fields that become its schema
SCHEMA_FIELDS = ("type", "format", "items", "enum", "default", "minimum", "maximum", "exclusiveMinimum",
                 "exclusiveMaximum", "minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems",
                 "multipleOf")
# 2.0 section -> 3.0 components section (parameters are split: body/formData ones become requestBodies)
SECTIONS = {"definitions": "schemas", "parameters": "parameters", "responses": "responses",
            "securityDefinitions": "securitySchemes"}
OAUTH2_FLOWS = {"implicit": ("implicit", ("authorizationUrl",)),
                "password": ("password", ("tokenUrl",)),
                "application": ("clientCredentials", ("tokenUrl",)),
                "accessCode": ("authorizationCode", ("authorizationUrl", "tokenUrl"))}
# https before http: a client given the list tries the first
SCHEME_ORDER = ("https", "http", "wss", "ws")
QUERY_STYLES = {"csv": ("form", False), "multi": ("form", True), "ssv": ("spaceDelimited", False),
                "pipes": ("pipeDelimited", False)}


def to_openapi30(document: dict[str, Json]) -> tuple[dict[str, Json], list[str]]:
    """Convert a Swagger 2.0 document; the input is not modified.

    :return: the OpenAPI 3.0.3 document, and one warning line per assumption or dropped field.
    """
    converter = _Converter(copy.deepcopy(document))
    return converter.convert(), converter.warnings


def _is_extension(key: object) -> bool:
    return isinstance(key, str) and key.startswith("x-")


def _extensions(node: dict[str, Json]) -> dict[str, Json]:
    return {key: value for key, value in node.items() if _is_extension(key)}


def _media_types(value: Json) -> list[str]:
    return [str(media) for media in value] if isinstance(value, list) else []


def _is_form(media: str) -> bool:
    return media.split(";")[0].strip().lower() in (MULTIPART, URLENCODED)


def _pointer_token(raw: str) -> str:
    return unquote(raw).replace("~1", "/").replace("~0", "~")


class _Converter:
    def __init__(self, source: dict[str, Json]) -> None:
        self.source = source
        self.warnings: list[str] = []
        self.names = {section: self._component_names(section) for section in SECTIONS}
        self.consumes = _media_types(source.get("consumes"))
        self.produces = _media_types(source.get("produces"))
        self.files: set[str] = set()
        self._assumed: set[str] = set()

    def warn(self, where: str, text: str) -> None:
        self.warnings.append(f"{where}: {text}" if where else text)

    def convert(self) -> dict[str, Json]:
        source = self.source
        out: dict[str, Json] = {"openapi": OPENAPI_VERSION, "info": source.get("info", {}), "servers": self.servers()}
        for key in ("tags", "externalDocs"):
            if key in source:
                out[key] = source[key]
        if "security" in source:
            out["security"] = self.security(source["security"])
        out["paths"] = self.paths(source.get("paths") or {})
        components = self.components()
        if components:
            out["components"] = components
        out.update(_extensions(source))
        if self.files:
            self.warn("", f"$refs to other files ({', '.join(sorted(self.files))}) are left pointing at them; "
                          "those files are read as OpenAPI 3.0 fragments, so Swagger 2.0 parameters or schemas in "
                          "them (type: file, x-nullable, a string discriminator, #/definitions refs) are not converted")
        return out

    # --- servers

    def servers(self) -> list[dict[str, Json]]:
        host = self.source.get("host")
        base_path = str(self.source.get("basePath") or "/")
        if not host:
            return [{"url": base_path}]
        declared = [str(scheme).lower() for scheme in self.source.get("schemes") or []]
        schemes = [scheme for scheme in SCHEME_ORDER if scheme in declared]
        if not schemes:
            self.warn("schemes", "none declared; https assumed for the server URL")
            schemes = ["https"]
        return [{"url": f"{scheme}://{host}{base_path.rstrip('/')}"} for scheme in schemes]

    # --- names and $refs

    def _component_names(self, section: str) -> dict[str, str]:
        """2.0 name -> 3.0 component name; names 3.0 refuses are rewritten with ``_``, with a warning."""
        names: dict[str, str] = {}
        entries = self.source.get(section)
        taken: set[str] = set()
        for name in entries if isinstance(entries, dict) else {}:
            new = name if COMPONENT_NAME.match(str(name)) else re.sub(r"[^A-Za-z0-9._-]", "_", str(name))
            while new in taken:
                new += "_"
            if new != name:
                self.warn(f"{section}/{name}", f"renamed {new!r} (OpenAPI 3.0 component names take letters, "
                                               "digits, '.', '-' and '_' only)")
            taken.add(new)
            names[str(name)] = new
        return names

    def local_target(self, ref: str, section: str) -> tuple[str, Json] | None:
        """For ``#/<section>/<name>``: the name and the 2.0 object it names."""
        parts = ref.split("/")
        if len(parts) != 3 or parts[0] != "#" or parts[1] != section:
            return None
        name = _pointer_token(parts[2])
        entries = self.source.get(section)
        if not isinstance(entries, dict) or name not in entries:
            return None
        return name, entries[name]

    def ref(self, ref: str) -> str:
        """A 2.0 ``$ref`` as it reads in the 3.0 document; other files' refs are kept (and noted)."""
        if not ref.startswith("#"):
            self.files.add(ref.partition("#")[0])
            return ref
        parts = ref.split("/")
        if len(parts) < 3 or parts[1] not in SECTIONS:
            self.warn(ref, "a $ref into a part of the document that OpenAPI 3.0 reshapes; left as written")
            return ref
        section, name = parts[1], _pointer_token(parts[2])
        target = SECTIONS[section]
        if section == "parameters" and self._is_payload((self.local_target(ref, "parameters") or ("", None))[1]):
            target = "requestBodies"
        new = self.names[section].get(name)
        if new is None:
            self.warn(ref, "points to nothing in the document")
            new = name
        return "/".join(["#", "components", target, quote(new, safe=""), *parts[3:]])

    @staticmethod
    def _is_payload(parameter: Json) -> bool:
        return isinstance(parameter, dict) and parameter.get("in") in ("body", "formData")

    # --- schemas

    def schema(self, node: Json, where: str) -> Json:
        """A 2.0 Schema Object in 3.0: refs rewritten, x-nullable, type file, string discriminator."""
        if not isinstance(node, dict):
            return node
        if "$ref" in node and isinstance(node["$ref"], str):
            return self._ref_schema(node)
        out: dict[str, Json] = {}
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                out[key] = {name: self.schema(sub, f"{where}/{name}") for name, sub in value.items()}
            elif key in ("additionalProperties", "not"):
                out[key] = self.schema(value, where)
            elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
                out[key] = [self.schema(sub, where) for sub in value]
            elif key == "items" and isinstance(value, list) and "type" not in node:
                # JSON Schema's tuple on a schema of no type: Slack's `bot_id: {items: [bot id, null]}`
                # means "one of these", and a value that is no array passes a tuple anyway
                self.warn(where, "items given as a list (a tuple) on a schema without a type; "
                                 "read as the value being any of those schemas")
                out["anyOf"] = [self.schema(sub, where) for sub in value]
            elif key == "items":
                out[key] = self._items_schema(value, where)
            elif key == "x-nullable":
                out["nullable"] = bool(value)
            elif key == "discriminator" and isinstance(value, str):
                out[key] = {"propertyName": value}
            elif key == "type":
                out.update(self._type(value, where))
            elif key == "required" and value == []:
                continue  # the same meaning as no list, which 3.0 requires of an empty one
            else:
                out.setdefault(key, value)
        return out

    def _ref_schema(self, node: dict[str, Json]) -> dict[str, Json]:
        # 3.0 ignores a $ref's siblings, and `nullable` beside an allOf does not let null through the
        # referenced schema: a nullable reference is the schema or null, as anyOf
        target = {"$ref": self.ref(node["$ref"])}
        if node.get("x-nullable") is True:
            return {"anyOf": [target, only_null()]}
        return target

    def _type(self, value: Json, where: str) -> dict[str, Json]:
        if value == "file":
            return {"type": "string", "format": "binary"}
        if value == "null":  # JSON Schema's null type, which neither 2.0 nor 3.0 has: only null
            self.warn(where, "type null has no OpenAPI 3.0 form; read as a nullable schema that takes only null")
            return only_null()
        if isinstance(value, list):  # JSON Schema's list of types, which 3.0 does not have
            named = [kind for kind in value if kind != "null"]
            kept: dict[str, Json] = {"nullable": True} if "null" in value else {}
            if len(named) == 1:
                return {**kept, **self._type(named[0], where)}
            self.warn(where, f"type {value} has no OpenAPI 3.0 form; the type is left open")
            return kept
        return {"type": value}

    def _items_schema(self, value: Json, where: str) -> Json:
        if isinstance(value, list):  # tuple validation, which 3.0 does not have
            self.warn(where, "items given as a list (a tuple); read as any of those schemas")
            return {"anyOf": [self.schema(sub, where) for sub in value]} if value else {}
        return self.schema(value, where)

    def simple_schema(self, node: dict[str, Json], where: str) -> dict[str, Json]:
        """The schema of a non-body parameter, an Items Object or a header: its type fields."""
        fields = {key: node[key] for key in SCHEMA_FIELDS if key in node}
        if isinstance(fields.get("items"), dict):
            items = dict(fields["items"])
            if items.pop("collectionFormat", "csv") != "csv" or items.get("type") == "array":
                self.warn(where, "an array inside an array parameter has no OpenAPI 3.0 style; "
                                 "its items are read as one level (the inner collectionFormat is dropped)")
            fields["items"] = self.simple_schema(items, where) | {
                key: value for key, value in items.items() if key == "$ref" or _is_extension(key)}
        if node.get("x-nullable") is True:
            fields["x-nullable"] = True
        return t.cast(dict[str, Json], self.schema(fields, where))

    # --- parameters

    def parameter(self, node: dict[str, Json], where: str) -> dict[str, Json]:
        """A query, header or path parameter (or a ref to one)."""
        if isinstance(node.get("$ref"), str):
            return {"$ref": self.ref(node["$ref"])}
        name, location = node.get("name"), node.get("in")
        where = f"{where}: parameter {name!r}"
        out: dict[str, Json] = {key: node[key] for key in ("name", "in", "description", "required", "deprecated")
                                if key in node}
        if "allowEmptyValue" in node:
            if location == "query":
                out["allowEmptyValue"] = node["allowEmptyValue"]
            else:
                self.warn(where, "allowEmptyValue dropped (OpenAPI 3.0 has it for query parameters only)")
        if node.get("type") == "file":
            self.warn(where, "type file outside formData; read as a binary string")
        out.update(self.style(node, str(location), where))
        out["schema"] = self.simple_schema(node, where)
        if "x-example" in node:
            out["example"] = node["x-example"]
        out.update(_extensions(node))
        return out

    def style(self, node: dict[str, Json], location: str, where: str) -> dict[str, Json]:
        """An array's collectionFormat as a 3.0 style and explode (2.0's default, csv, is not 3.0's)."""
        if node.get("type") != "array":
            return {}
        form = str(node.get("collectionFormat", "csv"))
        in_query = location in ("query", "formData")
        if form == "tsv":
            self.warn(where, "collectionFormat tsv has no OpenAPI 3.0 style; read as csv")
            form = "csv"
        elif form not in QUERY_STYLES:
            self.warn(where, f"unknown collectionFormat {form!r}; read as csv")
            form = "csv"
        elif form != "csv" and not in_query:
            self.warn(where, f"collectionFormat {form} has no OpenAPI 3.0 style in {location}; read as csv")
            form = "csv"
        if not in_query:
            return {"style": "simple", "explode": False}
        style, explode = QUERY_STYLES[form]
        return {"style": style, "explode": explode}

    def resolved(self, node: Json) -> Json:
        """A parameter with a local ref replaced by its target (to know where it goes); other nodes as they are."""
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            found = self.local_target(node["$ref"], "parameters")
            if found is not None:
                return found[1]
        return node

    # --- request bodies

    def request_body(self, node: dict[str, Json], consumes: list[str], where: str) -> dict[str, Json]:
        """A body parameter as a request body: its schema under each media type it may be sent as."""
        where = f"{where}: body parameter {node.get('name')!r}"
        if "schema" not in node:
            self.warn(where, "has no schema; any body accepted")
        schema = self.schema(node.get("schema", {}), where)
        content: dict[str, Json] = {media: {"schema": schema} for media in consumes}
        for media, example in (node.get("x-examples") or {}).items():
            content.setdefault(str(media), {"schema": schema})["example"] = example
        out: dict[str, Json] = {"content": content}
        for key in ("description", "required"):
            if key in node:
                out[key] = node[key]
        out.update({key: value for key, value in _extensions(node).items() if key != "x-examples"})
        return out

    def form_body(self, fields: list[dict[str, Json]], consumes: list[str], where: str) -> dict[str, Json]:
        """The formData parameters as one object schema, sent as the form media types ``consumes`` names."""
        properties: dict[str, Json] = {}
        encoding: dict[str, Json] = {}
        required: list[str] = []
        for node in fields:
            name = str(node.get("name"))
            field_where = f"{where}: form parameter {name!r}"
            prop = self.simple_schema(node, field_where)
            if "description" in node:
                prop["description"] = node["description"]
            properties[name] = prop
            if node.get("required") is True:
                required.append(name)
            if "allowEmptyValue" in node:
                self.warn(field_where, "allowEmptyValue dropped (OpenAPI 3.0 has no form equivalent)")
            if node.get("type") == "array":
                encoding[name] = self.style(node, "formData", field_where)
        schema: dict[str, Json] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        content = {media: {"schema": schema} for media in self._form_media_types(fields, consumes, where)}
        for media, entry in content.items():
            if encoding and media.split(";")[0].strip().lower() == URLENCODED:  # 3.0: style is for urlencoded only
                entry["encoding"] = encoding
        body: dict[str, Json] = {"content": content}
        if required:
            body["required"] = True
        return body

    def _form_media_types(self, fields: list[dict[str, Json]], consumes: list[str], where: str) -> list[str]:
        media_types = [media for media in consumes if _is_form(media)]
        others = [media for media in consumes if not _is_form(media)]
        if others and media_types:
            self.warn(where, f"consumes also lists {', '.join(others)}, which form parameters are not sent as; "
                             "dropped for this operation")
        elif others:
            self.warn(where, f"form parameters with consumes {', '.join(others)}; read as a form instead")
        has_file = any(node.get("type") == "file" for node in fields)
        if has_file and MULTIPART not in [media.split(";")[0].strip().lower() for media in media_types]:
            media_types.insert(0, MULTIPART)
        return media_types or [URLENCODED]

    # --- responses

    def responses(self, node: Json, produces: list[str], where: str) -> dict[str, Json]:
        out: dict[str, Json] = {}
        for status, response in (node or {}).items():
            if _is_extension(status):
                out[status] = response
            elif isinstance(response, dict):
                out[str(status)] = self.response(response, produces, f"{where}: response {status}")
        return out

    def response(self, node: dict[str, Json], produces: list[str], where: str) -> dict[str, Json]:
        if isinstance(node.get("$ref"), str):
            found = self.local_target(node["$ref"], "responses")
            # the shared response was written for the global produces; another list needs its own copy
            if found is None or produces == self.default_produces():
                return {"$ref": self.ref(node["$ref"])}
            return self.response(found[1], produces, where)
        out: dict[str, Json] = {"description": node.get("description", "")}
        if "description" not in node:
            self.warn(where, "has no description; an empty one is used")
        content: dict[str, Json] = {}
        if "schema" in node:
            schema = self.schema(node["schema"], where)
            content = {media: {"schema": schema} for media in produces}
        for media, example in (node.get("examples") or {}).items():
            content.setdefault(str(media), {"schema": content[produces[0]]["schema"]} if content else {})
            content[str(media)]["example"] = example
        if content:
            out["content"] = content
        headers = node.get("headers")
        if isinstance(headers, dict):
            out["headers"] = {name: self.header(header, f"{where}: header {name!r}")
                              for name, header in headers.items()}
        out.update(_extensions(node))
        return out

    def header(self, node: Json, where: str) -> Json:
        if not isinstance(node, dict):
            return node
        out: dict[str, Json] = {key: node[key] for key in ("description",) if key in node}
        style = self.style(node, "header", where)
        out["schema"] = self.simple_schema(node, where)
        if style:
            out.update(style)
        out.update(_extensions(node))
        return out

    # --- media types

    def default_consumes(self) -> list[str]:
        return self.consumes or self._assume("consumes", "request bodies")

    def default_produces(self) -> list[str]:
        return self.produces or self._assume("produces", "response bodies")

    def _assume(self, field: str, what: str) -> list[str]:
        if field not in self._assumed:
            self._assumed.add(field)
            self.warn(field, f"not declared; {what} are read as {DEFAULT_MEDIA_TYPE}")
        return [DEFAULT_MEDIA_TYPE]

    # --- paths and operations

    def paths(self, paths: dict[str, Json]) -> dict[str, Json]:
        out: dict[str, Json] = {}
        for template, item in paths.items():
            if _is_extension(template) or not isinstance(item, dict):
                out[template] = item
            else:
                out[template] = self.path_item(item, str(template))
        return out

    def path_item(self, item: dict[str, Json], template: str) -> dict[str, Json]:
        out: dict[str, Json] = {}
        if isinstance(item.get("$ref"), str):
            out["$ref"] = self.ref(item["$ref"])
        shared = [node for node in item.get("parameters") or [] if isinstance(node, dict)]
        # body and formData parameters are not parameters in 3.0: each operation's request body takes them
        payload = [node for node in shared if self._is_payload(self.resolved(node))]
        kept = [self.parameter(node, template) for node in shared if node not in payload]
        if kept:
            out["parameters"] = kept
        for method in HTTP_METHODS:
            if isinstance(item.get(method), dict):
                out[method] = self.operation(item[method], payload, f"{method.upper()} {template}")
        out.update(_extensions(item))
        return out

    def operation(self, node: dict[str, Json], shared_payload: list[Json], where: str) -> dict[str, Json]:
        out: dict[str, Json] = {key: node[key] for key in ("tags", "summary", "description", "externalDocs",
                                                           "operationId") if key in node}
        if "schemes" in node:
            self.warn(where, "schemes dropped (operation-level servers are not used)")
        own = [param for param in node.get("parameters") or [] if isinstance(param, dict)]
        payload = self._effective_payload(shared_payload, own)
        parameters = [self.parameter(param, where) for param in own if not self._is_payload(self.resolved(param))]
        if parameters:
            out["parameters"] = parameters
        # None: the global consumes; the operation's own list replaces it
        consumes = _media_types(node.get("consumes")) or None
        named = self._content_type_values([*shared_payload, *own], where) if payload else []
        if named:
            consumes = list(dict.fromkeys([*(consumes or self.default_consumes()), *named]))
        body = self.operation_body(payload, consumes, where)
        if body is not None:
            out["requestBody"] = body
        produces = _media_types(node.get("produces")) if "produces" in node else None
        out["responses"] = self.responses(node.get("responses"), produces or self.default_produces(), where)
        if "deprecated" in node:
            out["deprecated"] = node["deprecated"]
        if "security" in node:
            out["security"] = self.security(node["security"])
        out.update(_extensions(node))
        return out

    def _content_type_values(self, parameters: list[Json], where: str) -> list[str]:
        """The media types a ``Content-Type`` header parameter's ``enum`` names (Docker's build:
        ``application/x-tar`` beside ``consumes: [application/octet-stream]``). 3.0 ignores such a
        parameter; what its author meant is that the body is sent in those types too."""
        named: list[str] = []
        for param in parameters:
            target = self.resolved(param)
            if (isinstance(target, dict) and target.get("in") == "header"
                    and str(target.get("name", "")).lower() == "content-type"):
                named += [str(value) for value in target.get("enum") or [] if isinstance(value, str) and "/" in value]
        if named:
            self.warn(where, f"a Content-Type header parameter names {', '.join(named)}; "
                             "read as media types of the request body")
        return named

    def _effective_payload(self, shared: list[Json], own: list[Json]) -> list[Json]:
        """The path's body/formData parameters the operation does not redeclare, then the operation's."""
        def key(param: Json) -> tuple[str, str]:
            target = self.resolved(param)
            return (str(target.get("in")), str(target.get("name"))) if isinstance(target, dict) else ("", "")

        own_payload = [param for param in own if self._is_payload(self.resolved(param))]
        redeclared = {key(param) for param in own_payload}
        return [param for param in shared if key(param) not in redeclared] + own_payload

    def operation_body(self, payload: list[Json], consumes: list[str] | None, where: str) -> Json:
        """The request body from the body parameter or the formData parameters; None without either."""
        bodies = [param for param in payload if self.resolved(param).get("in") == "body"]
        fields = [self.resolved(param) for param in payload if self.resolved(param).get("in") == "formData"]
        if bodies and fields:
            self.warn(where, "has both a body and formData parameters (2.0 forbids it); the formData ones dropped")
        if bodies:
            if len(bodies) > 1:
                self.warn(where, "has more than one body parameter (2.0 forbids it); the first kept")
            body = bodies[0]
            found = self.local_target(body["$ref"], "parameters") if "$ref" in body else None
            # the shared body was converted for the global consumes; another list needs its own copy
            if found is not None and consumes in (None, self.consumes):
                return {"$ref": self.ref(body["$ref"])}
            return self.request_body(self.resolved(body), consumes or self.default_consumes(), where)
        if fields:
            return self.form_body(fields, consumes or self.consumes, where)
        return None

    def security(self, requirements: Json) -> Json:
        """Security requirements with the scheme names renamed as their components were."""
        if not isinstance(requirements, list):
            return requirements
        names = self.names["securityDefinitions"]
        return [{names.get(str(name), name): scopes for name, scopes in requirement.items()}
                if isinstance(requirement, dict) else requirement for requirement in requirements]

    # --- components

    def components(self) -> dict[str, Json]:
        components: dict[str, dict[str, Json]] = {}

        def add(section: str, name: str, value: Json) -> None:
            components.setdefault(section, {})[name] = value

        for name, schema in (self.source.get("definitions") or {}).items():
            add("schemas", self.names["definitions"][str(name)], self.schema(schema, f"definitions/{name}"))
        for name, param in (self.source.get("parameters") or {}).items():
            self.component_parameter(str(name), param, add)
        for name, response in (self.source.get("responses") or {}).items():
            add("responses", self.names["responses"][str(name)],
                self.response(response, self.default_produces(), f"responses/{name}"))
        for name, scheme in (self.source.get("securityDefinitions") or {}).items():
            converted = self.security_scheme(scheme, f"securityDefinitions/{name}")
            if converted is not None:
                add("securitySchemes", self.names["securityDefinitions"][str(name)], converted)
        return components

    def component_parameter(self, name: str, param: Json, add: t.Callable[[str, str, Json], None]) -> None:
        new, where = self.names["parameters"][name], f"parameters/{name}"
        if not isinstance(param, dict):
            return
        if param.get("in") == "body":
            add("requestBodies", new, self.request_body(param, self.default_consumes(), where))
        elif param.get("in") == "formData":  # operations merge form fields into their own body; this serves other refs
            add("requestBodies", new, self.form_body([param], self.consumes, where))
        else:
            add("parameters", new, self.parameter(param, where))

    def security_scheme(self, node: Json, where: str) -> Json:
        if not isinstance(node, dict):
            return node
        kind = node.get("type")
        out: dict[str, Json] = {"description": node["description"]} if "description" in node else {}
        if kind == "basic":
            out = {"type": "http", "scheme": "basic", **out}
        elif kind == "apiKey":
            out = {"type": "apiKey", "name": node.get("name"), "in": node.get("in"), **out}
        elif kind == "oauth2":
            out = {"type": "oauth2", "flows": self._oauth2_flows(node, where), **out}
        else:
            self.warn(where, f"unknown security scheme type {kind!r}; dropped")
            return None
        out.update(_extensions(node))
        return out

    def _oauth2_flows(self, node: dict[str, Json], where: str) -> dict[str, Json]:
        flow = str(node.get("flow"))
        if flow not in OAUTH2_FLOWS:
            self.warn(where, f"unknown oauth2 flow {flow!r}; read as implicit")
            flow = "implicit"
        name, urls = OAUTH2_FLOWS[flow]
        converted: dict[str, Json] = {url: node.get(url, "") for url in urls}
        converted["scopes"] = node.get("scopes") or {}
        return {name: converted}
