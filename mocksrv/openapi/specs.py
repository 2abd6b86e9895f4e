"""Load OpenAPI documents from disk and turn each into a mountable `ApiSpec`.

Owns: reading YAML/JSON safely, Swagger 2.0 handed to openapi/swagger2.py for conversion,
relative-file ``$ref`` resolution confined to the spec's folder, light repair of slightly
invalid specs (with warnings), validation with openapi-spec-validator, and the
per-operation data the other stages use. Every problem becomes one `SpecError` line naming
the file.

The documents' ``servers`` are rewritten to the relative mount prefix (``/{api}{base}``)
before openapi-core sees them: openapi-core matches absolute server URLs against the full
request URL, and a request to 127.0.0.1 never matches ``https://api.vendor.com/v1``.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import typing as t
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from urllib.parse import unquote
from urllib.parse import urljoin
from urllib.parse import urlsplit

import yaml
from jsonschema_path import SchemaPath
from openapi_core import Config
from openapi_core import OpenAPI
from referencing import Registry
from referencing import Resource
from referencing.exceptions import PointerToNowhere
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from mocksrv.errors import SpecError
from mocksrv.openapi.document_repairs import repair_document
from mocksrv.openapi.patterns import repair_patterns
from mocksrv.openapi.schema_keywords import repair_keywords
from mocksrv.openapi.schema_repairs import repair_schemas
from mocksrv.openapi.schema_values import drop_invalid_defaults
from mocksrv.openapi.spec_validation import first_error
from mocksrv.openapi.swagger2 import to_openapi30

if t.TYPE_CHECKING:
    from referencing._core import Resolver

SPEC_SUFFIXES = (".yaml", ".yml", ".json")
# URI schemes jsonschema-path (requests, urllib) would fetch a $ref from; all go to the confined loader
FETCHED_SCHEMES = ("file", "http", "https", "ftp", "ftps", "data")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# header parameters OpenAPI says to ignore (`is_ignored_header`)
IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
MAX_SPEC_BYTES = 20 * 1024 * 1024
API_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
TEMPLATE_PARAM = re.compile(r"{([^{}/]+)}")
# a URL's first segment that is a host: a dotted name ending in a letters-only label, or a name and port
HOST_FIRST = re.compile(r"^(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}(?::\d+)?(?:/|$)|^[A-Za-z0-9.-]+:\d+(?:/|$)")

Json = t.Any


MAX_EXPANDED_NODES = 2_000_000
NESTED_TOO_DEEPLY = "the document is nested too deeply"
# libyaml's parser when PyYAML was built with it (10x faster); the same safe constructor either way
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str, *, max_nodes: int = MAX_EXPANDED_NODES) -> Json:
    """``yaml.safe_load`` that refuses alias bombs: the tree as it would be once its aliases
    are expanded (by json, deepcopy, a validator) must stay under ``max_nodes``."""
    loader = SAFE_LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        sizes: dict[int, int] = {}

        def expanded(current: yaml.Node) -> int:
            key = id(current)
            if key not in sizes:
                sizes[key] = 1  # a self-referencing alias counts once, then stops
                children: list[yaml.Node] = []
                if isinstance(current, yaml.SequenceNode):
                    children = current.value
                elif isinstance(current, yaml.MappingNode):
                    children = [part for pair in current.value for part in pair]
                total = 1
                for child in children:  # a scalar is one node, however often it is aliased: no call
                    total += 1 if isinstance(child, yaml.ScalarNode) else expanded(child)
                    if total > max_nodes:
                        break
                sizes[key] = total
            return sizes[key]

        if expanded(node) > max_nodes:
            raise yaml.YAMLError(f"the document expands to more than {max_nodes} nodes through its aliases "
                                 "(a YAML bomb?)")
        return loader.construct_document(node)
    except RecursionError as exc:
        raise yaml.YAMLError(NESTED_TOO_DEEPLY) from exc
    except yaml.MarkedYAMLError as exc:
        # libyaml (PyYAML >= 6.0.2 with its C parser) stops at its own depth limit, before Python's recursion limit
        if exc.problem and "nesting depth" in exc.problem:
            raise yaml.YAMLError(NESTED_TOO_DEEPLY) from exc
        raise
    finally:
        loader.dispose()


def read_document(path: Path) -> Json:
    """Parse one YAML or JSON file.

    :raise SpecError: unreadable, too large, or not YAML/JSON.
    """
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise SpecError(str(path), f"file is {size} bytes, the limit is {MAX_SPEC_BYTES}")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:  # the path is already the message's subject
        raise SpecError(str(path), f"cannot read file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise SpecError(str(path), f"cannot read file: {exc}") from exc
    try:
        if path.suffix == ".json":
            return json.loads(text)
        return load_yaml(text)
    except (ValueError, yaml.YAMLError) as exc:
        problem = yaml_problem(exc) if isinstance(exc, yaml.YAMLError) else _one_line(exc)
        raise SpecError(str(path), f"not valid {path.suffix[1:].upper()}: {problem}") from exc


def yaml_problem(error: yaml.YAMLError) -> str:
    """PyYAML's error on one line, with the line and column but without the name of the string
    it parsed (``in "<unicode string>"``): the caller names the file."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem:
        mark = error.problem_mark or error.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        return " ".join(f"{error.context or ''} {error.problem}".split()) + where
    return _one_line(error)


class ConfinedLoader:
    """Loads ``file://`` documents for ``$ref`` resolution, only from inside ``root``.

    Used both by openapi-core (jsonschema-path handlers) and by our own `referencing`
    registry, so both see the same files and the same refusal of ``../`` escapes.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._cache: dict[Path, Json] = {}

    def path_of(self, uri: str) -> Path:
        parts = urlsplit(uri)
        if parts.scheme != "file":
            raise SpecError(uri, "only relative-file $refs are supported (no network fetches)")
        target = Path(unquote(parts.path)).resolve()
        if not target.is_relative_to(self.root):
            raise SpecError(uri, f"$ref points outside the spec folder {self.root}")
        return target

    def __call__(self, uri: str) -> Json:
        target = self.path_of(uri)
        if target not in self._cache:
            self._cache[target] = read_document(target)
        return self._cache[target]

    def retrieve(self, uri: str) -> Resource[Json]:
        return Resource.from_contents(self(uri), default_specification=DRAFT202012)

    def as_handlers(self) -> dict[str, ConfinedLoader]:
        """jsonschema-path's handlers: this loader for ``file`` and for every scheme jsonschema-path
        would otherwise fetch itself (mocksrv calls no address the user did not name). A plain dict:
        jsonschema-path consults it on every resolution, and a custom mapping made each request
        to an operation with ``$ref``'d parameters about a fifth slower."""
        return dict.fromkeys(FETCHED_SCHEMES, self)

    def check_refs(self, document: Json, base_uri: str, source: str) -> None:
        """Refuse, at load time, every ``$ref`` this loader would refuse later, following
        relative files: openapi-core resolves some refs only when a request needs them.

        :raise SpecError: naming ``source`` and the ref: a URL, or a file outside the folder or missing.
        """
        pending, seen = [(document, base_uri)], {base_uri}
        while pending:
            node, base = pending.pop()
            for ref in _refs_in(node):
                target = urljoin(base, ref).partition("#")[0]
                if target and target not in seen:
                    seen.add(target)
                    try:
                        pending.append((self(target), target))
                    except SpecError as exc:
                        raise SpecError(source, f"unresolvable $ref {ref}: {exc.problem}") from exc


def _refs_in(node: Json) -> t.Iterator[str]:
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                yield node["$ref"]
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


@dataclass
class Operation:
    """One (method, path) of an API, with everything the pipeline needs about it."""

    method: str  # lower-case
    template: str  # the path as written in the spec, e.g. "/emails/{id}"
    operation_id: str | None
    spec: dict[str, Json]  # the Operation Object (inner $refs unresolved)
    path_item: dict[str, Json]
    security: list[dict[str, list[str]]]  # effective requirement list; [] means open

    @property
    def key(self) -> str:
        """How journal, logs and errors name the operation."""
        return self.operation_id or f"{self.method.upper()} {self.template}"

    @property
    def response_keys(self) -> set[str]:
        """The declared response keys, upper-cased: ``{"200", "4XX", "DEFAULT"}``."""
        return {str(k).upper() for k in (self.spec.get("responses") or {})}

    def declares(self, status: int) -> bool:
        """Whether a response with this status is described (exactly, by its ``NXX`` range, or ``default``)."""
        return bool(self.response_keys & {str(status), f"{status // 100}XX", "DEFAULT"})


@dataclass
class ApiSpec:
    """A loaded, validated OpenAPI document mounted at ``mount``."""

    id: str
    source: Path
    document: dict[str, Json]  # as written (original servers kept, for display); Swagger 2.0 as converted
    version: str  # "3.0" or "3.1"
    base_path: str  # path of the first server URL, e.g. "/v3"
    openapi: OpenAPI  # openapi-core, on the copy whose servers are the mount prefix
    resolver: Resolver[Json]
    operations: list[Operation]
    warnings: list[str] = field(default_factory=list)
    # (base URI, $ref) -> target and its resolver: the document never changes, and deref runs ~10 times a request
    _lookups: dict[tuple[str, str], tuple[Json, Resolver[Json]]] = field(default_factory=dict, repr=False)

    @property
    def mount(self) -> str:
        return f"/{self.id}{self.base_path}"

    @property
    def title(self) -> str:
        return str(self.document.get("info", {}).get("title", self.id))

    @property
    def api_version(self) -> str:
        return str(self.document.get("info", {}).get("version", ""))

    @functools.cached_property
    def security_schemes(self) -> dict[str, dict[str, t.Any]]:
        """components.securitySchemes, each dereferenced; made once (every request that needs credentials
        reads them), so not to be changed."""
        schemes_node, resolver = self.deref((self.document.get("components") or {}).get("securitySchemes") or {})
        schemes = {name: self.deref(node, resolver)[0] for name, node in (schemes_node or {}).items()}
        return {name: scheme for name, scheme in schemes.items() if isinstance(scheme, dict)}

    @functools.cached_property
    def has_external_refs(self) -> bool:
        """Some ``$ref`` points into another file."""
        return any(not ref.startswith("#") for ref in _refs_in(self.document))

    def deref(self, node: Json, resolver: Resolver[Json] | None = None) -> tuple[Json, Resolver[Json]]:
        """Follow ``$ref`` chains; returns the target and the resolver for refs inside it."""
        resolver = resolver or self.resolver
        seen = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            seen += 1
            if seen > 50:
                raise SpecError(str(self.source), f"$ref chain too long at {node['$ref']}")
            base = getattr(resolver, "_base_uri", None)  # a ref means the same thing from the same base
            key = (base, node["$ref"]) if isinstance(base, str) else None
            found = self._lookups.get(key) if key else None
            if found is None:
                resolved = resolver.lookup(node["$ref"])
                found = resolved.contents, resolved.resolver
                if key:
                    self._lookups[key] = found
            node, resolver = found
        return node, resolver

    def parameters(self, operation: Operation) -> list[tuple[Json, Resolver[Json]]]:
        """The operation's effective Parameter Objects (dereferenced, with their resolvers): the
        path item's, each replaced by the operation's own of the same ``in`` and ``name``."""
        declared: dict[tuple[str, str], tuple[Json, Resolver[Json]]] = {}
        for node in [*(operation.path_item.get("parameters") or []), *(operation.spec.get("parameters") or [])]:
            parameter, resolver = self.deref(node)
            if isinstance(parameter, dict) and not is_ignored_header(parameter):
                declared[(str(parameter.get("in", "")), str(parameter.get("name", "")))] = (parameter, resolver)
        return list(declared.values())


def discover(paths: t.Iterable[Path]) -> list[Path]:
    """Expand folders into their spec files (sorted, so mount order is stable)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.suffix in SPEC_SUFFIXES and p.is_file())
            if not inside:
                raise SpecError(str(path), f"no spec files in this folder (*{', *'.join(SPEC_SUFFIXES)})")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            raise SpecError(str(path), "no such file or folder")
    return found


def load_spec(path: Path, *, root: Path | None = None, strict: bool = False) -> ApiSpec:
    """Load, repair, validate and index one OpenAPI 3.0/3.1 document (Swagger 2.0 converted to 3.0 first).

    :param root: the folder ``$ref``s may reach; defaults to the file's own folder.
    :param strict: refuse a document that needs a repair (``--strict-specs``) instead of repairing it.
    :raise SpecError: with one line naming the file and the problem.
    """
    source = str(path)
    api_id = path.stem
    if not API_ID_PATTERN.match(api_id):
        raise SpecError(source, f"file name {api_id!r} is not usable as an API id (letters, digits, . _ -)")
    document = read_document(path)
    if not isinstance(document, dict):
        raise SpecError(source, "the document is not a mapping")
    document, conversion_warnings = _from_swagger(document, source)
    version = _openapi_version(document, source)
    loader = ConfinedLoader(root or path.parent)
    base_uri = path.resolve().as_uri()
    registry: Registry[Json] = Registry(retrieve=loader.retrieve).with_resource(  # type: ignore[call-arg]
        base_uri, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    resolver = registry.resolver(base_uri=base_uri)

    loader.check_refs(document, base_uri, source)
    base_path, server_repairs = _base_path(document)
    repairs = [*server_repairs, *repair(document, version, resolver)]
    if strict and repairs:
        more = f"; {len(repairs) - 1} more" if len(repairs) > 1 else ""
        raise SpecError(source, f"{repairs[0]} (refused by --strict-specs{more})")
    warnings = conversion_warnings + [f"{source}: {repaired}" for repaired in repairs]
    mounted = _mounted_copy(document, f"/{api_id}{base_path}")
    try:
        error = first_error(mounted, version, base_uri, loader.as_handlers())
        if error is not None:
            raise SpecError(source, _describe_spec_error(error))
        # validated just above: openapi-core would validate the whole document a second time
        spec_path = SchemaPath.from_dict(mounted, base_uri=base_uri, handlers=loader.as_handlers())
        openapi = OpenAPI(spec_path, config=Config(spec_validator_cls=None))
    except SpecError:
        raise
    except Unresolvable as exc:
        raise SpecError(source, _unresolvable(exc)) from exc
    except Exception as exc:  # library errors on broken specs vary; report them as one line
        raise SpecError(source, f"{type(exc).__name__}: {_one_line(exc)}") from exc

    api = ApiSpec(
        id=api_id,
        source=path,
        document=document,
        version=version,
        base_path=base_path,
        openapi=openapi,
        resolver=resolver,
        operations=[],
        warnings=warnings,
    )
    try:
        api.operations = _index_operations(api)
    except Unresolvable as exc:
        raise SpecError(source, _unresolvable(exc)) from exc
    return api


def load_specs(paths: t.Iterable[Path], *, skip_invalid: bool = False,
               strict: bool = False) -> tuple[list[ApiSpec], list[SpecError]]:
    """Load every spec; with ``skip_invalid`` collect failures instead of raising the first;
    with ``strict`` refuse those that need a repair (`load_spec`)."""
    apis: list[ApiSpec] = []
    failures: list[SpecError] = []
    for path in discover(paths):
        try:
            api = load_spec(path, strict=strict)
        except SpecError as exc:
            if not skip_invalid:
                raise
            failures.append(exc)
            continue
        if any(existing.id == api.id for existing in apis):
            error = SpecError(str(path), f"API id {api.id!r} is already used by another spec file")
            if not skip_invalid:
                raise error
            failures.append(error)
            continue
        apis.append(api)
    return apis, failures


def _from_swagger(document: dict[str, Json], source: str) -> tuple[dict[str, Json], list[str]]:
    """A Swagger 2.0 document as OpenAPI 3.0 (openapi/swagger2.py), with the converter's warnings;
    any other document as it is.

    :raise SpecError: another Swagger version (1.2 names it ``swaggerVersion``).
    """
    if "openapi" in document:
        return document, []
    declared = document.get("swagger", document.get("swaggerVersion"))
    if declared is None:
        return document, []
    if str(declared) != "2.0":
        raise SpecError(source, f"Swagger {declared} is not supported (Swagger 2.0, OpenAPI 3.0.x and 3.1.x are)")
    try:
        converted, notes = to_openapi30(document)
    except (AttributeError, TypeError, ValueError) as exc:  # a field of the wrong kind; the validator names the rest
        raise SpecError(source, f"cannot convert this Swagger 2.0 document: {type(exc).__name__}: "
                                f"{_one_line(exc)}") from exc
    return converted, [f"{source}: Swagger 2.0, converted to OpenAPI 3.0 at load",
                       *(f"{source}: {note}" for note in notes)]


def _openapi_version(document: dict[str, Json], source: str) -> str:
    declared = document.get("openapi")
    if declared is None:
        raise SpecError(source, "missing the 'openapi' version field")
    declared = str(declared)
    for version in ("3.0", "3.1"):
        if declared.startswith(version + "."):
            return version
    raise SpecError(source, f"OpenAPI {declared} is not supported (3.0.x and 3.1.x are)")


def repair(document: dict[str, Json], version: str, resolver: Resolver[Json]) -> list[str]:
    """Every repair lenient loading makes, in place: ``place: what was assumed`` for each
    (docs/decisions.md, "Lenient loading"). The schemas' own repairs come before the check of
    defaults, which must see the schemas as they will be served."""
    return [*repair_document(document, resolver), *repair_schemas(document, version),
            *repair_keywords(document, version), *repair_patterns(document, version),
            *drop_invalid_defaults(document, version, resolver)]


def _base_path(document: dict[str, Json]) -> tuple[str, list[str]]:
    """The path part of the first server URL, server variables replaced by their defaults, and
    the repair it took, if any.

    Every form a URL reference takes gives its path: absolute (``https://api.example.com/v1``),
    protocol-relative (``//api.example.com/v1``), relative to the host (``/v1``) or to the
    document (``v1``, ``./v1``: the document's own folder is not a path the API has, so the
    same ``/v1``); a query or fragment is no part of it. A first segment that is a host name
    (``api.example.com/v1``, ``localhost:8080/v1``) is a URL written without its scheme.
    """
    servers = document.get("servers") or [{"url": "/"}]
    server = servers[0] if isinstance(servers, list) and servers and isinstance(servers[0], dict) else {}
    url = str(server.get("url", "/"))
    for name, variable in (server.get("variables") or {}).items():
        if isinstance(variable, dict):
            url = url.replace("{" + str(name) + "}", str(variable.get("default", "")))
    repairs = []
    if "://" not in url and HOST_FIRST.match(url):
        repairs.append(f"/servers/0: url {url!r} names a host without a scheme; read as '//{url}'")
        url = "//" + url
    path = urlsplit(url).path if "://" in url or url.startswith("//") else url.partition("?")[0].partition("#")[0]
    path = TEMPLATE_PARAM.sub("x", path)  # a variable left without default
    segments = [segment for segment in path.split("/") if segment not in ("", ".", "..")]
    return ("/" + "/".join(segments) if segments else ""), repairs


def _mounted_copy(document: dict[str, Json], mount: str) -> dict[str, Json]:
    """A copy for openapi-core: its only server is the mount prefix (path- and operation-level
    servers dropped), and query parameters take empty values unless they say otherwise."""
    mounted = copy.deepcopy(document)
    mounted["servers"] = [{"url": mount}]
    parameter_lists = []
    for path_item in (mounted.get("paths") or {}).values():
        if isinstance(path_item, dict):
            path_item.pop("servers", None)
            parameter_lists.append(path_item.get("parameters"))
            for method in HTTP_METHODS:
                if isinstance(path_item.get(method), dict):
                    path_item[method].pop("servers", None)
                    parameter_lists.append(path_item[method].get("parameters"))
    components = mounted.get("components")
    shared = components.get("parameters") if isinstance(components, dict) else None
    for parameters in parameter_lists:
        if isinstance(parameters, list):
            parameters[:] = [p for p in parameters if not is_ignored_header(_local_target(p, shared))]
    if isinstance(shared, dict):
        parameter_lists.append(list(shared.values()))
    for parameters in parameter_lists:
        for parameter in parameters if isinstance(parameters, list) else []:
            _accept_empty_query_value(parameter)
            _one_parameter_type(parameter)
            _deep_array_as_repeated(parameter)
            _deep_object_as_json(parameter)
    return mounted


def is_ignored_header(parameter: Json) -> bool:
    """A header parameter named ``Accept``, ``Content-Type`` or ``Authorization``: OpenAPI says its
    definition "SHALL be ignored" (the media types and security schemes say those), and a
    document that declares one (Docker's ``Content-type: application/x-tar`` beside a body of
    ``application/octet-stream``) would otherwise refuse every request."""
    return (isinstance(parameter, dict) and parameter.get("in") == "header"
            and str(parameter.get("name", "")).lower() in IGNORED_HEADERS)


def _local_target(node: Json, shared: Json) -> Json:
    """``{"$ref": "#/components/parameters/X"}`` → that parameter (None when elsewhere); others as they are."""
    ref = node.get("$ref") if isinstance(node, dict) else None
    if not isinstance(ref, str):
        return node
    prefix = "#/components/parameters/"
    return shared.get(ref[len(prefix):]) if ref.startswith(prefix) and isinstance(shared, dict) else None


def _accept_empty_query_value(parameter: Json) -> None:
    """``?after=`` is the empty string, judged by the parameter's schema, as real servers (and
    Prism) take it; openapi-core refuses it unless ``allowEmptyValue`` is true. An explicit
    ``allowEmptyValue: false`` is the spec's word and stays (docs/decisions.md)."""
    if (isinstance(parameter, dict) and parameter.get("in") == "query" and "schema" in parameter
            and "allowEmptyValue" not in parameter):
        parameter["allowEmptyValue"] = True


def is_deep_array(parameter: Json) -> bool:
    """A query parameter of ``style: deepObject`` whose schema is an array (Stripe's ``expand``).

    deepObject is defined for objects only; clients write such an array ``expand[]=a&expand[]=b``
    or ``expand[0]=a&expand[1]=b``, and openapi-core fails on every request of the operation,
    even one that leaves the parameter out. Inline schemas only (a ``$ref``'d one is not read)."""
    schema = parameter.get("schema") if isinstance(parameter, dict) else None
    return (isinstance(parameter, dict) and parameter.get("in") == "query" and parameter.get("style") == "deepObject"
            and isinstance(schema, dict) and schema.get("type") == "array")


def _deep_array_as_repeated(parameter: Json) -> None:
    """openapi-core's copy reads a `is_deep_array` parameter as a repeated key (``expand=a&expand=b``);
    validation folds the bracketed keys into that name first (`engine.validation`)."""
    if is_deep_array(parameter):
        parameter["style"], parameter["explode"] = "form", True


def is_deep_object(parameter: Json) -> bool:
    """A query parameter of ``style: deepObject`` that is not an array (`is_deep_array`).

    openapi-core 0.23 reads one only when its schema says ``type: object`` outright, one
    level deep, and casts no value inside ``anyOf``/``oneOf``; it fails on every request
    of the operation otherwise (``anyOf: [range object, integer]``), even one that leaves
    the parameter out. mocksrv reads it as a form field (`wire.form_encoding`)."""
    return (isinstance(parameter, dict) and parameter.get("in") == "query" and parameter.get("style") == "deepObject"
            and "schema" in parameter and not is_deep_array(parameter))


def _deep_object_as_json(parameter: Json) -> None:
    """openapi-core's copy takes a `is_deep_object` parameter as one JSON value
    (``content: application/json``) under its name: validation reads the ``name[key]=value``
    keys into it first (`engine.validation`), and openapi-core checks it against the schema."""
    if is_deep_object(parameter):
        parameter["content"] = {"application/json": {"schema": parameter.pop("schema")}}
        for key in ("style", "explode", "allowEmptyValue", "allowReserved"):
            parameter.pop(key, None)


def _one_parameter_type(parameter: Json) -> None:
    """openapi-core reads a parameter's style by its schema's ``type`` as one string, and fails on
    every request when it is a 3.1 list (``[integer, "null"]``). A parameter arrives as text,
    never as JSON null, so the copy keeps one type: ``string`` when the list allows it (any text
    then passes, as the list says), else the first that is not ``null``. Inline schemas only: a
    ``$ref``'d one may also describe bodies, where the list must stay."""
    schema = parameter.get("schema") if isinstance(parameter, dict) else None
    if not isinstance(schema, dict):
        return
    types = schema.get("type")
    if isinstance(types, list):
        named = [str(kind) for kind in types if kind != "null"]
        schema["type"] = "string" if "string" in named or not named else named[0]


def _index_operations(api: ApiSpec) -> list[Operation]:
    document = api.document
    root_security = document.get("security") or []
    operations: list[Operation] = []
    for template, raw_item in (document.get("paths") or {}).items():
        path_item, _ = api.deref(raw_item)
        if not isinstance(path_item, dict):
            continue
        for method in HTTP_METHODS:
            spec = path_item.get(method)
            if not isinstance(spec, dict):
                continue
            security = spec["security"] if "security" in spec else root_security
            operations.append(Operation(
                method=method,
                template=str(template),
                operation_id=spec.get("operationId"),
                spec=spec,
                path_item=path_item,
                security=list(security or []),
            ))
    return operations


def _unresolvable(exc: BaseException) -> str:
    """Name the ref, and our own refusal (outside the folder, not a file) when that was the cause."""
    if isinstance(exc, PointerToNowhere):  # its own message prints the whole document
        return f"unresolvable $ref: nothing at #{exc.ref} in {_document_name(exc)}"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, SpecError):
            return f"unresolvable $ref {getattr(exc, 'ref', '')}: {cause}"
        cause = cause.__cause__ or cause.__context__
    return f"unresolvable $ref: {_one_line(exc)}"


def _describe_spec_error(error: t.Any) -> str:
    where = "/".join(str(part) for part in getattr(error, "path", [])) or "(root)"
    # the jsonschema-rs backend (used when installed) appends the failing schema: keep the sentence only
    message = str(getattr(error, "message", error)).split("Failed validating")[0]
    # and it starts with the whole failing object, which can be a page long: the place says which one
    if message[:1] in "{[" and " is not valid under " in message:
        message = "the object" + message[message.rindex(" is not valid under "):]
    return f"invalid OpenAPI document at {where}: {_one_line(message)}"


def _one_line(value: object, limit: int = 300) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _document_name(exc: PointerToNowhere) -> str:
    """The file a pointer was followed in (the spec itself unless the document has an ``$id``)."""
    contents = exc.resource.contents
    found = contents.get("$id") if isinstance(contents, dict) else None
    return str(found) if found else "the document"

