"""A stored record shown through a record schema that is a ``oneOf``/``anyOf``: shaped to one branch.

A record stored by a create (or a scenario) fits the branch it was made for, or several, or
none as it stands: a webhook with ``secret: null`` is the branch whose ``secret`` may be null.
Branches are tried in three rounds, the ones declaring most of the record's fields first, and
the first record the whole schema takes (so ``oneOf`` sees exactly one branch) wins:

1. the record as stored: the branch's fields, those it requires filled from a value
   generated through that branch;
2. the same after values that break their property's schema give way (`RecordKeeper`'s own
   conforming, given the branch as the schema);
3. a valid value of the branch that takes the record's fields one by one, the id first,
   while it stays valid; the branch keeping most of them wins.

The per-branch schemas and generated values are made once per record schema.
"""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass
from dataclasses import replace

from mocksrv.engine.responses import Synthesizer
from mocksrv.openapi.resources import Location
from mocksrv.openapi.resources import object_properties
from mocksrv.openapi.resources import required_fields
from mocksrv.openapi.specs import ApiSpec

Json = t.Any
Conform = t.Callable[[dict[str, Json], Json, Location], dict[str, Json]]
CHOICES = ("oneOf", "anyOf")


class Branches:
    """The branches of record schemas, made once each, and records shaped to one of them."""

    def __init__(self, api: ApiSpec, synth: Synthesizer) -> None:
        self.api = api
        self.synth = synth
        # id(record schema) -> (the schema, kept so its id stays its own; its branches)
        self._branches: dict[int, tuple[Json, list[_Branch]]] = {}
        self._values: dict[tuple[int, int], str] = {}  # (id(record schema), branch) -> generated value, as JSON

    def of(self, location: Location) -> list[_Branch]:
        """The branches of the record schema's choice (none when it has no oneOf/anyOf)."""
        if not any(isinstance(location.schema.get(k), list) for k in CHOICES):
            return []  # not kept: only the spec's own schemas with a choice are, so the table stays bounded
        found = self._branches.get(id(location.schema))
        if found is None or found[0] is not location.schema:
            found = self._branches[id(location.schema)] = (location.schema, self._split(location))
        return found[1]

    def _split(self, location: Location) -> list[_Branch]:
        schema = location.schema
        keyword = next((k for k in CHOICES if isinstance(schema.get(k), list) and schema[k]), None)
        if keyword is None:
            return []
        # the holder's own keywords (properties, required …) apply beside every branch
        holder = {k: v for k, v in schema.items() if k not in (*CHOICES, "discriminator")}
        branches = [replace(location, schema={"allOf": [holder, branch]}) for branch in schema[keyword]]
        return [_Branch(b, frozenset(object_properties(self.api, b.schema, b.resolver)),
                        frozenset(required_fields(self.api, b.schema, b.resolver))) for b in branches]

    def value(self, location: Location, index: int) -> Json:
        """A value generated for the whole record schema through branch ``index`` (seeded: made once)."""
        key = (id(location.schema), index)
        if key not in self._values:
            made = self.synth.generate(location.schema, location.resolver, "record", *location.path,
                                       location.id_field, index, branch=index)
            self._values[key] = json.dumps(made)
        return json.loads(self._values[key])

    def conform(self, stored: dict[str, Json], generated: Json, location: Location,
                conform_to: Conform) -> dict[str, Json] | None:
        """``stored`` shaped to the branch that takes most of it, valid under the whole schema; None: no branch."""
        branches = self.of(location)
        if not branches:
            return None
        order = sorted(range(len(branches)), key=lambda i: -len(branches[i].fields & set(stored)))
        whole = (location.schema, location.resolver)
        own: list[Json] = [_UNMADE] * len(branches)  # what fills the gaps: the body's value when its branch is this

        def value(index: int) -> Json:
            if own[index] is _UNMADE:
                fits = self.synth.is_valid(branches[index].location.schema, location.resolver, generated)
                own[index] = generated if fits else self.value(location, index)
            return own[index]

        for index in order:  # the record as stored: the branch's fields, its required ones filled
            branch = branches[index]
            record = {k: v for k, v in stored.items() if k in branch.fields}
            missing = branch.required - set(record)
            made = value(index) if missing else {}
            record.update({k: made[k] for k in missing if isinstance(made, dict) and k in made})
            if self.synth.is_valid(*whole, record):
                return record
        first: dict[str, Json] | None = None
        for index in order:  # values that break the branch's fields give way to generated ones
            record = conform_to(stored, value(index), branches[index].location)
            if self.synth.is_valid(*whole, record):
                return record
            first = record if first is None else first
        best: tuple[int, dict[str, Json]] | None = None
        for index in order:  # a valid value of the branch, given as many of the record's fields as it takes
            base = value(index)
            if not isinstance(base, dict) or not self.synth.is_valid(*whole, base):
                continue
            kept = 0
            for name in sorted(stored, key=lambda n: n != location.id_field):  # the id first
                trial = {**base, name: stored[name]}
                if self.synth.is_valid(*whole, trial):
                    base, kept = trial, kept + 1
            if best is None or kept > best[0]:
                best = (kept, base)
        return best[1] if best is not None else first


_UNMADE: t.Any = object()


@dataclass(frozen=True)
class _Branch:
    location: Location  # the record's location with the branch (and the holder's own keywords) as its schema
    fields: frozenset[str]
    required: frozenset[str]
