"""Form bodies read into the JSON object their schema describes, by the Encoding Object's rules.

A form (``application/x-www-form-urlencoded`` or ``multipart/form-data``) arrives as a list
of named text values and files; the schema describes an object. Each declared property is
read from the form the way the media type's ``encoding`` entry for it says:

- **style** (``style``, ``explode`` or ``allowReserved`` written in the entry): urlencoded
  bodies in 3.0 and 3.1, multipart bodies in 3.1 only (3.0 ignores them there). As for query
  parameters: an array is repeated keys (``form``, explode) or one value split on ``,``,
  ``" "`` or ``|`` (``form``, ``spaceDelimited``, ``pipeDelimited`` not exploded); an object is
  its properties as top-level keys (``form``, explode), ``obj=k1,v1,k2,v2`` (not exploded) or
  ``obj[k1]=v1&obj[k2]=v2`` (``deepObject``; ``obj[a][b]`` for a nested object, a repeated key
  for a nested array).
- **content type** otherwise (no style field, or a 3.0 multipart body): ``contentType``, by
  default ``application/json`` for an object and the items' own for an array (one key or part
  per item), text for the rest. A JSON value is parsed; text is coerced by the schema (an
  integer part ``7`` is ``7``, ``true`` is ``true``, a value of an enum of numbers is that
  number).

A key no property claims is read by ``additionalProperties`` (a key sent several times is a
list when that schema names no type). The result is JSON only: a file part where the schema
takes a string (or anything) is validated as its bytes read as Latin-1 text (a binary string)
and kept as ``{filename, content_type, size}``; under an object or array, or a JSON content
type, its bytes are the JSON text they hold, and under a number or boolean the text.
What the schema then says of the object is for its validator; what cannot be read at all
(``obj=a,1,b``, a deepObject property sent as a plain value, a part that is not the JSON its
content type says, a file of a type the encoding refuses) is a `Violation` here, one line each.
docs/decisions.md ("Form bodies") has the choices the specification leaves open.
"""

from __future__ import annotations

import functools
import json
import math
import re
import typing as t
from dataclasses import dataclass
from dataclasses import field

from werkzeug.datastructures import FileStorage
from werkzeug.datastructures import MultiDict

from mocksrv.errors import Violation
from mocksrv.openapi.specs import ApiSpec
from mocksrv.wire.media import MULTIPART
from mocksrv.wire.media import URLENCODED
from mocksrv.wire.media import is_json
from mocksrv.wire.media import media_type_of

__all__ = ["DecodedForm", "FormLayout", "decode_deep_object", "decode_form", "deep_object_layout", "form_layout",
           "schema_kinds"]

Json = t.Any
Part = str | FileStorage
STYLE_FIELDS = ("style", "explode", "allowReserved")
SEPARATORS = {"form": ",", "spaceDelimited": " ", "pipeDelimited": "|"}
KINDS = ("object", "array", "string", "integer", "number", "boolean", "null")
BRACKETS = re.compile(r"\[([^\[\]]*)\]")  # `metadata[]=x`: the key "" (a map's name may be empty)
# numbers as JSON writes them (a leading + too): not Python's "1_000", " 5 ", "nan" or "٣"
INTEGER = re.compile(r"[+-]?[0-9]+")
NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
MAX_DEPTH = 32  # brackets in one deepObject key: deeper is refused, not read by recursion
BRANCH_DEPTH = 4  # anyOf/oneOf inside anyOf/oneOf looked into for types and properties
_NO_VALUE = object()


@dataclass
class DecodedForm:
    """A form body as JSON: ``value`` to validate (files as binary strings), ``shown`` to keep
    and echo (files as name, type and size), and what could not be read."""

    value: dict[str, Json] = field(default_factory=dict)
    shown: dict[str, Json] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)


@dataclass(frozen=True)
class FormLayout:
    """What a form body's Media Type Object says of its fields: made once per operation, read per request."""

    schema: _View
    encoding: dict[str, Json]
    version: str  # "3.0" or "3.1"


def form_layout(api: ApiSpec, media: Json, resolver: t.Any) -> FormLayout:
    """The layout of a form body from its (dereferenced) Media Type Object: ``schema`` and ``encoding``."""
    media = media if isinstance(media, dict) else {}
    encoding = media.get("encoding")
    return FormLayout(_View.of(api, media.get("schema"), resolver),
                      {str(k): v for k, v in encoding.items()} if isinstance(encoding, dict) else {}, api.version)


def schema_kinds(api: ApiSpec, schema: Json, resolver: t.Any) -> list[str]:
    """The JSON types a schema allows, in its order: declared, else implied (through ``$ref``,
    ``allOf`` and the ``anyOf``/``oneOf`` alternatives)."""
    return _View.of(api, schema, resolver).kinds


def decode_form(layout: FormLayout, media_type: str, fields: MultiDict[str, str],
                files: MultiDict[str, FileStorage]) -> DecodedForm:
    """Read a parsed form body (its text fields and files) as the JSON object its layout describes."""
    return _Reader(layout, media_type_of(media_type), fields, files).read()


def deep_object_layout(api: ApiSpec, name: str, schema: Json, resolver: t.Any) -> FormLayout:
    """The layout of one ``style: deepObject`` query parameter: a query is read as a urlencoded
    form would be, so the parameter is a form of that one property."""
    return FormLayout(_View(api, [({"type": "object", "properties": {name: schema}}, resolver)]),
                      {name: {"style": "deepObject", "explode": True}}, api.version)


def decode_deep_object(layout: FormLayout, query: MultiDict[str, str]) -> DecodedForm:
    """The deepObject parameter of ``layout`` read from a query: ``value`` holds it (when sent)
    as JSON; the query's other keys are not looked at."""
    (name,) = layout.encoding
    keys = [key for key in query if key == name or key.startswith(name + "[")]
    own: MultiDict[str, str] = MultiDict([(key, value) for key in keys for value in query.getlist(key)])
    return _Reader(layout, URLENCODED, own, MultiDict(), location="query").read()


class _View:
    """A schema looked at through ``$ref`` and ``allOf`` (and, for what it declares, ``anyOf``/``oneOf``)."""

    def __init__(self, api: ApiSpec, parts: list[tuple[dict[str, Json], t.Any]], depth: int = 0) -> None:
        self.api = api
        self.parts = parts  # the schema, then its allOf parts (dereferenced), each with its resolver
        self.depth = depth  # anyOf/oneOf levels above: alternatives made of themselves end here

    @classmethod
    def of(cls, api: ApiSpec, node: Json, resolver: t.Any, depth: int = 0) -> _View:
        parts: list[tuple[dict[str, Json], t.Any]] = []
        pending = [(node, resolver)]
        while pending:  # the schema and its allOf parts, each once (a schema may name itself)
            node, resolver = api.deref(*pending.pop(0))
            if isinstance(node, dict) and all(node is not seen for seen, _ in parts):
                parts.append((node, resolver))
                pending.extend((sub, resolver) for sub in node.get("allOf") or [])
        return cls(api, parts, depth)

    @functools.cached_property
    def branches(self) -> list[_View]:
        """The ``anyOf``/``oneOf`` alternatives (of the schema and its allOf parts), made when first asked."""
        if self.depth >= BRANCH_DEPTH:
            return []
        return [_View.of(self.api, sub, resolver, self.depth + 1) for schema, resolver in self.parts
                for keyword in ("anyOf", "oneOf") for sub in schema.get(keyword) or []]

    def _first(self, keyword: str) -> tuple[Json, t.Any] | None:
        for schema, resolver in self.parts:
            if keyword in schema:
                return schema[keyword], resolver
        return None

    @functools.cached_property
    def kinds(self) -> list[str]:
        """The JSON types the schema allows, in its order: declared, else implied by its keywords."""
        declared = self._first("type")
        if declared is not None:
            names = declared[0] if isinstance(declared[0], list) else [declared[0]]
            return [str(name) for name in names if name in KINDS]
        if self._first("items") is not None:
            return ["array"]
        if self._first("properties") is not None:
            return ["object"]
        found = [kind for branch in self.branches for kind in branch.kinds]
        return list(dict.fromkeys(found))

    def is_array(self) -> bool:
        return "array" in self.kinds

    def takes_text(self, text: str) -> bool:
        """False when every string alternative is an enum without ``text`` (the text is then read as
        another of the schema's types, if it can be)."""
        strings = [branch for branch in (self.branches or [self]) if "string" in branch.kinds]
        return not strings or any(branch._string_takes(text) for branch in strings)

    def _string_takes(self, text: str) -> bool:
        """Whether this alternative takes ``text`` as a string: by its enum, or, when it is itself
        only a choice (``anyOf: [{enum: [auto]}, {type: object}]``), by its own alternatives."""
        if self._first("type") is None and not self.members and self.branches:
            return self.takes_text(text)
        return not self.members or text in self.members

    @functools.cached_property
    def allows_null(self) -> bool:
        """3.0's ``nullable: true`` or a 3.1 type list with ``"null"``, on the schema or an allOf part,
        or on one of its ``anyOf``/``oneOf`` alternatives (``anyOf: [A, {nullable: true, enum: [null]}]``)."""
        return "null" in self.kinds or any(schema.get("nullable") is True for schema, _ in self.parts) \
            or any(branch.allows_null for branch in self.branches)

    @functools.cached_property
    def required(self) -> set[str]:
        """The names the schema and its allOf parts require."""
        return {str(n) for schema, _ in self.parts for n in schema.get("required") or [] if isinstance(n, str)}

    def required_with(self, keys: set[str]) -> set[str]:
        """The names required of an object holding ``keys``: the schema's own, and those of each
        object alternative that declares all of them (Stripe's ``shipping``: ``anyOf: [{required:
        [address, name]}, enum [""]]``)."""
        names = set(self.required)
        for branch in self.branches:
            if branch.is_object() and keys <= set(branch.properties):
                names |= branch.required_with(keys)
        return names

    def empty_is_no_item(self) -> bool:
        """Whether a key sent with no value is no item of this array: no item takes the text ``""``
        (Stripe's ``allowed_types=``, items an enum of names) and the list may be empty."""
        items = self.items
        takes = not items.kinds or ("string" in items.kinds and items.takes_text(""))
        return not takes and self.may_be_empty()

    def may_be_empty(self) -> bool:
        """An array with no ``minItems`` above 0."""
        found = self._first("minItems")
        return not (found is not None and isinstance(found[0], int) and found[0] > 0)

    def is_object(self) -> bool:
        kinds = self.kinds
        return "object" in kinds and "array" not in kinds

    def is_binary(self) -> bool:
        """A schema a file part stands for as itself: a string (a file is a binary string), or any value."""
        kinds = self.kinds
        return not kinds or ("string" in kinds and not {"object", "array"} & set(kinds))

    @functools.cached_property
    def members(self) -> list[Json]:
        """The values an ``enum`` or ``const`` allows (empty when it has neither)."""
        enum = self._first("enum")
        if enum is not None and isinstance(enum[0], list):
            return list(enum[0])
        const = self._first("const")
        return [const[0]] if const is not None else []

    @functools.cached_property
    def items(self) -> _View:
        found = self._first("items")
        if found is None:
            branch = next((b for b in self.branches if b.is_array()), None)
            return branch.items if branch is not None else _View(self.api, [])
        return _View.of(self.api, found[0], found[1])

    @functools.cached_property
    def properties(self) -> dict[str, _View]:
        """Declared properties: the schema's own over its allOf parts', then the alternatives' new names."""
        found: dict[str, _View] = {}
        for schema, resolver in reversed(self.parts):
            props = schema.get("properties")
            if isinstance(props, dict):
                found.update({str(name): _View.of(self.api, node, resolver) for name, node in props.items()})
        for branch in self.branches:
            for name, view in branch.properties.items():
                found.setdefault(name, view)
        return found

    @functools.cached_property
    def additional(self) -> _View:
        """The schema of undeclared properties (``additionalProperties``; any value when it is not a schema)."""
        found = self._first("additionalProperties")
        if found is None or not isinstance(found[0], dict):
            return _View(self.api, [])
        return _View.of(self.api, found[0], found[1])

    def property(self, name: str) -> _View:
        return self.properties.get(name) or self.additional


class _Reader:
    """One form body being read: the keys not read yet, where each property began, what went wrong."""

    def __init__(self, layout: FormLayout, media_type: str, fields: MultiDict[str, str],
                 files: MultiDict[str, FileStorage], location: str = "body") -> None:
        self.layout = layout
        self.location = location
        self.encoding = layout.encoding
        # 3.0: style and explode are for urlencoded bodies; 3.1 gives them to multipart too
        self.styled_media = media_type == URLENCODED or (media_type == MULTIPART and layout.version != "3.0")
        self.sent: dict[str, list[Part]] = {name: list(fields.getlist(name)) for name in fields}
        for name in files:
            self.sent.setdefault(name, []).extend(files.getlist(name))
        self.order = {name: index for index, name in enumerate(self.sent)}
        self.result = DecodedForm()
        self.placed: dict[str, int] = {}  # key or property -> position of the first key it read

    def read(self) -> DecodedForm:
        schema = self.layout.schema
        declared = schema.properties
        exploded: list[tuple[str, _View]] = []
        for name, view in declared.items():
            style, explode = self._style(name)
            if style == "form" and explode and view.is_object():
                exploded.append((name, view))  # its properties are top-level keys: read after the declared ones
            else:
                self._put(name, self._property(name, view, style, explode))
        for name, view in exploded:
            self._put(name, self._exploded_object(name, view, set(declared)))
        for name in sorted(schema.required - set(self.result.value)):
            empty = declared.get(name)
            if empty is not None and empty.is_array() and empty.may_be_empty() and name not in self.sent:
                # an empty list is written as no key at all: a form cannot tell it from absent
                self._put(name, ([], []))
            elif empty is not None and empty.is_object() and not empty.required and name not in self.sent \
                    and self._style(name)[0] == "deepObject":
                self._put(name, ({}, {}))  # so is an empty deepObject (Stripe's business_profile)
        for name in list(self.sent):
            self._put(name, self._content(name, schema.additional, None, name))
        ordered = sorted(self.result.value, key=lambda name: self.placed.get(name, 0))
        self.result.value = {name: self.result.value[name] for name in ordered}
        self.result.shown = {name: self.result.shown[name] for name in ordered}
        return self.result

    # -- one property -------------------------------------------------------------------------

    def _style(self, name: str) -> tuple[str | None, bool]:
        """The property's style and explode when its encoding entry gives it one, else ``(None, False)``."""
        entry = self.encoding.get(name)
        if not self.styled_media or not isinstance(entry, dict) or not any(k in entry for k in STYLE_FIELDS):
            return None, False
        style = str(entry.get("style", "form"))
        return style, bool(entry.get("explode", style == "form"))

    def _property(self, name: str, view: _View, style: str | None, explode: bool) -> tuple[Json, Json] | None:
        if style is None:
            entry = self.encoding.get(name)
            declared = entry.get("contentType") if isinstance(entry, dict) else None
            return self._content(name, view, str(declared) if declared else None, name)
        if view.is_object():
            if style == "deepObject":
                return self._deep_object(name, view)
            return self._delimited_object(name, view, style)
        if view.is_array():
            parts = self._take(name)
            if parts is None:
                return None
            if not explode and style in SEPARATORS:
                parts = [item for part in parts for item in _split(part, SEPARATORS[style])]
            return self._items(parts, view.items, None, name)
        return self._content(name, view, None, name)

    def _content(self, name: str, view: _View, content_type: str | None, where: str) -> tuple[Json, Json] | None:
        """A property read by content type: one key or part, or one per item of an array."""
        parts = self._take(name)
        if parts is None:
            return None
        if parts == ["null"] and view.allows_null and ("string" not in view.kinds or not view.takes_text("null")):
            return None, None  # the text `null` where null is allowed and no string takes it (a string keeps it)
        as_json = content_type is not None and is_json(content_type)
        if parts == [""] and view.is_array() and view.empty_is_no_item():
            return self._empty_list(view)
        if view.is_array() or (len(parts) > 1 and not view.kinds):
            items = view.items
            if len(parts) == 1 and (as_json or items.is_object()) and not items.is_array():
                whole = _json_list(parts[0])  # the whole array as one JSON value: no item can be a list
                if whole is not None:
                    return whole, whole
            return self._items(parts, items, as_json or None, where)
        if len(parts) > 1:
            self._violation(where, f"{where} field was sent {len(parts)} times; it takes one value")
        return self._part(parts[0], view, as_json or None, where)

    def _items(self, parts: list[Part], items: _View, as_json: bool | None, where: str) -> tuple[Json, Json]:
        read = [self._part(part, items, as_json, f"{where}[{index}]") for index, part in enumerate(parts)]
        return [value for value, _ in read], [shown for _, shown in read]

    def _part(self, part: Part, view: _View, as_json: bool | None, where: str) -> tuple[Json, Json]:
        """One value: a file kept by name, type and size, JSON parsed, or text coerced by its schema.

        ``as_json``: True when the encoding says JSON, None to go by the schema (objects are JSON)."""
        if isinstance(part, FileStorage):
            data = part.stream.read()
            part.stream.seek(0)
            if not as_json and view.is_binary():
                # a file stands for a binary string in every OpenAPI version
                return data.decode("latin-1"), {"filename": part.filename or "",
                                                "content_type": part.mimetype or "application/octet-stream",
                                                "size": len(data)}
            text = data.decode("utf-8", "replace")  # a JSON document (or text) sent as a file part
            return self._part(text, view, True if as_json or view.is_object() or view.is_array() else None, where)
        if as_json:
            try:
                value = json.loads(part)
            except (ValueError, RecursionError) as exc:
                self._violation(where, f"{where} is not valid JSON: {_first_line(exc)}")
                return part, part
            return value, value
        value = _coerce(part, view)
        return value, value

    # -- objects written as several keys, or as one delimited value ---------------------------------

    def _exploded_object(self, name: str, view: _View, declared: set[str]) -> tuple[Json, Json] | None:
        """``style: form, explode: true``: the object's properties are keys of the form itself (a
        key the form's own schema declares belongs to that property, not to this object)."""
        value: dict[str, Json] = {}
        shown: dict[str, Json] = {}
        first: int | None = None
        if name in self.sent and name not in view.properties:
            self._take(name)
            self._violation(name, f"{name} is written as its properties' own keys (style form, explode true)")
        for key, sub in view.properties.items():
            if key in declared or key not in self.sent:
                continue
            first = self.order[key] if first is None else min(first, self.order[key])
            read = self._content(key, sub, None, f"{name}.{key}")
            if read is not None:
                value[key], shown[key] = read
        if first is None:
            return None
        self.placed[name] = first
        return value, shown

    def _delimited_object(self, name: str, view: _View, style: str) -> tuple[Json, Json] | None:
        """``obj=k1,v1,k2,v2`` (``form``; ``" "`` and ``|`` for the delimited styles)."""
        parts = self._take(name)
        if parts is None:
            return None
        if len(parts) > 1:
            self._violation(name, f"{name} field was sent {len(parts)} times; it takes one value")
        text = parts[0] if isinstance(parts[0], str) else ""
        words = text.split(SEPARATORS.get(style, ",")) if text else []
        if len(words) % 2:
            self._violation(name, f"{name} must be written as key{SEPARATORS.get(style, ',')}value pairs, "
                                  f"got {len(words)} values")
            return text, text
        value = {key: _coerce(word, view.property(key)) for key, word in zip(words[::2], words[1::2], strict=True)}
        return value, value

    def _deep_object(self, name: str, view: _View) -> tuple[Json, Json] | None:
        """``name[k]=v`` keys (``deepObject``): ``name[a][b]`` for a nested object, and a repeated
        key for an array."""
        tree: dict[str, Json] = {}
        first: int | None = None
        if name in self.sent and set(view.kinds) - {"object"}:
            # the schema also allows a plain value (a range object or one integer, say)
            if any(_bracket_path(key, name) is not None for key in self.sent):
                self._violation(name, f"{name} is sent both as a value and as {name}[key]=value")
            return self._content(name, view, None, name)
        if name in self.sent:
            self._take(name)
            self._violation(name, f"{name} is written as {name}[key]=value (style deepObject)")
        for key in list(self.sent):
            path = _bracket_path(key, name)
            if path is None:
                continue
            parts = self._take(key) or []
            first = self.order[key] if first is None else min(first, self.order[key])
            if len(path) > MAX_DEPTH:
                self._violation(name, f"{name} is nested more than {MAX_DEPTH} levels deep")
                continue
            node = tree
            for segment in path[:-1]:
                child = node.setdefault(segment, {})
                if not isinstance(child, dict):
                    self._violation(name, f"{key} is sent both as a value and as an object")
                    break
                node = child
            else:
                if isinstance(node.get(path[-1]), dict):
                    self._violation(name, f"{key} is sent both as a value and as an object")
                else:
                    node.setdefault(path[-1], []).extend(parts)
        if first is None:
            return None
        self.placed[name] = first
        return self._tree(tree, view, name)

    def _tree(self, tree: dict[str, Json], view: _View, where: str) -> tuple[Json, Json]:
        value: dict[str, Json] = {}
        shown: dict[str, Json] = {}
        for name in sorted(view.required_with(set(tree)) - set(tree)):
            sub = view.property(name)
            if sub.is_object() and not sub.required:
                tree[name] = {}  # an empty object has no key to write: a required one sent is sent so
            elif sub.is_array() and sub.may_be_empty() and not sub.is_object():
                tree[name] = {}  # so has an empty list (Stripe's cart[line_items]): read as [] below
        for key, node in tree.items():
            sub, path = view.property(key), f"{where}.{key}"
            if isinstance(node, dict) and sub.is_array() and all(k.isdigit() for k in node):
                value[key], shown[key] = self._indexed(node, sub.items, path)
            elif isinstance(node, dict):
                value[key], shown[key] = self._tree(node, sub, path)
            elif node == [""] and sub.is_array() and sub.empty_is_no_item():
                value[key], shown[key] = self._empty_list(sub)
            elif (sub.is_array() and not (node == [""] and "string" in sub.kinds and sub.takes_text(""))) \
                    or (len(node) > 1 and not sub.kinds):  # a key sent several times, of any type
                value[key], shown[key] = self._items(node, sub.items, None, path)
            else:
                if len(node) > 1:
                    self._violation(path, f"{path} field was sent {len(node)} times; it takes one value")
                value[key], shown[key] = self._part(node[0], sub, None, path)
        return value, shown

    @staticmethod
    def _empty_list(view: _View) -> tuple[Json, Json]:
        """A key with no value where a list goes that no item can be written as: the empty list (how
        a form writes ``[]``), or ``""`` where the schema takes that string instead."""
        if "string" in view.kinds and view.takes_text(""):
            return "", ""
        return [], []

    def _indexed(self, node: dict[str, Json], items: _View, where: str) -> tuple[Json, Json]:
        """``lines[0][price]=a&lines[1][price]=b`` (qs, Rails and Stripe write arrays so): the items in
        index order, each an object (more brackets) or a value."""
        value: list[Json] = []
        shown: list[Json] = []
        for position, index in enumerate(sorted(node, key=int)):
            item, path = node[index], f"{where}[{position}]"
            read = self._tree(item, items, path) if isinstance(item, dict) else self._part(item[0], items, None, path)
            value.append(read[0])
            shown.append(read[1])
        return value, shown

    # -- bookkeeping --------------------------------------------------------------------------

    def _take(self, key: str) -> list[Part] | None:
        """The values sent under ``key`` (None when it was not sent); each key is read once."""
        parts = self.sent.pop(key, None)
        if parts is not None:
            self.placed.setdefault(key, self.order[key])
            self._check_file_types(key, parts)
        return parts

    def _put(self, name: str, read: tuple[Json, Json] | None) -> None:
        if read is not None:
            self.result.value[name], self.result.shown[name] = read

    def _violation(self, where: str, message: str) -> None:
        self.result.violations.append(Violation(self.location, where, message))

    def _check_file_types(self, key: str, parts: list[Part]) -> None:
        """File parts against their field's ``contentType`` list (``image/png, image/*``)."""
        entry = self.encoding.get(key)
        if not isinstance(entry, dict) or not entry.get("contentType"):
            return
        allowed = [c.strip().lower() for c in str(entry["contentType"]).split(",") if c.strip()]
        for index, part in enumerate(parts):
            if not isinstance(part, FileStorage):
                continue
            got = (part.mimetype or "application/octet-stream").lower()
            if not any(a in (got, f"{got.split('/')[0]}/*", "*/*") for a in allowed):
                where = f"{key}[{index}]"
                self._violation(where, f"{where} has content type {got}; allowed: {', '.join(allowed)}")


def _bracket_path(key: str, name: str) -> list[str] | None:
    """``filter[a][b]`` → ``["a", "b"]`` for ``filter``; None for any other key."""
    if not key.startswith(name + "["):
        return None
    rest = key[len(name):]
    segments = BRACKETS.findall(rest)
    return segments if segments and "".join(f"[{s}]" for s in segments) == rest else None


def _json_list(part: Part) -> list[Json] | None:
    """A text part that is a JSON array, else None."""
    if not isinstance(part, str) or not part.startswith("["):
        return None
    try:
        value = json.loads(part)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, list) else None


def _split(part: Part, separator: str) -> list[Part]:
    """A delimited value's items; the empty value is the empty list."""
    if not isinstance(part, str):
        return [part]
    return list(part.split(separator)) if part else []


def _coerce(text: str, view: _View) -> Json:
    """Text as the schema wants it: the first of its types the text reads as, else the enum
    member it spells, else the text (the validator then says what is wrong)."""
    if text == "" and "object" in view.kinds and "string" not in view.kinds:
        return {}  # an empty object written as a key with no value (`filter[owner]=`, how clients write {})
    for kind in view.kinds:
        if kind == "string" and not view.takes_text(text):
            continue  # "0" for `anyOf: [enum [minimum], integer]` is the integer
        converted = _convert(text, kind)
        if converted is not _NO_VALUE:
            return converted
    for member in view.members:
        if (member if isinstance(member, str) else json.dumps(member)) == text:
            return member
    return text


def _convert(text: str, kind: str) -> Json:
    if kind == "string":
        return text
    if kind in ("integer", "number") and INTEGER.fullmatch(text):
        try:
            return int(text)
        except ValueError:  # more digits than Python converts (4300): no integer we can hold
            return _NO_VALUE
    if kind == "number":
        number = float(text) if NUMBER.fullmatch(text) else math.nan
        return number if math.isfinite(number) else _NO_VALUE  # no NaN, no 1e999: neither is JSON
    if kind == "boolean":
        return {"true": True, "false": False}.get(text.lower(), _NO_VALUE)
    if kind == "null":
        return None if text in ("", "null") else _NO_VALUE  # "null": how JSON-minded clients send None
    if kind not in ("object", "array"):
        return _NO_VALUE
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return _NO_VALUE


def _first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
