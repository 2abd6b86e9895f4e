"""A stored record shown through a record schema that is a ``oneOf``/``anyOf``: shaped to one branch.

A record stored by a create (or a scenario) fits the branch it was made for, or none as it
stands: a webhook with ``secret: null`` is the branch whose ``secret`` is nullable. Each
branch is tried, the ones declaring most of the record's fields first: the record conformed
to that branch (its fields, its required ones filled from a value generated through it) is
kept when the whole schema takes it, so ``oneOf`` sees exactly one branch. Else a generated
value of a branch takes the record's fields one by one while it stays valid, and the branch
keeping most of them wins. The per-branch schemas and values are made once per schema.
"""

from __future__ import annotations

import json
import typing as t
from dataclasses import replace

from mocksrv.engine.responses import Synthesizer
from mocksrv.openapi.resources import Location
from mocksrv.openapi.resources import object_properties
from mocksrv.openapi.specs import ApiSpec

Json = t.Any
Conform = t.Callable[[dict[str, Json], Json, Location], dict[str, Json]]
CHOICES = ("oneOf", "anyOf")


class Branches:
    """The branches of record schemas, made once each, and records shaped to one of them."""

    def __init__(self, api: ApiSpec, synth: Synthesizer) -> None:
        self.api = api
        self.synth = synth
        # id(record schema) -> (the schema, kept so its id stays its own; per branch: its location, its fields)
        self._locations: dict[int, tuple[Json, list[tuple[Location, frozenset[str]]]]] = {}
        self._values: dict[tuple[int, int], str] = {}  # (id(record schema), branch) -> generated value, as JSON

    def of(self, location: Location) -> list[tuple[Location, frozenset[str]]]:
        """Per branch of the record schema's choice, its location and field names (none without oneOf/anyOf)."""
        found = self._locations.get(id(location.schema))
        if found is None or found[0] is not location.schema:
            found = self._locations[id(location.schema)] = (location.schema, self._split(location))
        return found[1]

    def _split(self, location: Location) -> list[tuple[Location, frozenset[str]]]:
        schema = location.schema
        keyword = next((k for k in CHOICES if isinstance(schema.get(k), list) and schema[k]), None)
        if keyword is None:
            return []
        # the holder's own keywords (properties, required …) apply beside every branch
        holder = {k: v for k, v in schema.items() if k not in (*CHOICES, "discriminator")}
        branches = [replace(location, schema={"allOf": [holder, branch]}) for branch in schema[keyword]]
        return [(b, frozenset(object_properties(self.api, b.schema, b.resolver))) for b in branches]

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
        split = self.of(location)
        if not split:
            return None
        branches = [branch for branch, _ in split]
        order = sorted(range(len(split)), key=lambda i: -len(split[i][1] & set(stored)))
        whole = (location.schema, location.resolver)
        first: dict[str, Json] | None = None
        for index in order:
            own = generated if self.synth.is_valid(branches[index].schema, location.resolver, generated) \
                else self.value(location, index)
            record = conform_to(stored, own, branches[index])
            if self.synth.is_valid(*whole, record):
                return record
            first = record if first is None else first
        best: tuple[int, dict[str, Json]] | None = None
        for index in order:  # a valid value of the branch, given as many of the record's fields as it takes
            base = self.value(location, index)
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
