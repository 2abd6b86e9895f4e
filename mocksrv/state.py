"""The mock's state: the fixtures, the scenario in force, the store and the clock.

Loading a scenario replaces every stored record with the scenario's seed records and
restarts the rate-limit counters. With a persistent store (``--db``) that already holds
state, start-up keeps it: what clients created survives a restart.
"""

from __future__ import annotations

import typing as t

from .clock import Clock
from .errors import FixtureError
from .faults import Faults
from .fixtures import FixtureSet
from .fixtures import Scenario
from .journal import MAX_ENTRIES
from .journal import Journal
from .rules import Rules
from .store import RecordText
from .store import Store
from .store import decode_record

OptionsLoader = t.Callable[[str, dict[str, t.Any], str], tuple[dict[str, t.Any], list[str]]]


class MockState:
    def __init__(self, fixtures: FixtureSet, store: Store, clock: Clock,
                 id_field: t.Callable[[str, str], str], load_options: OptionsLoader,
                 journal_limit: int = MAX_ENTRIES) -> None:
        """:param id_field: (api id, collection) → the field holding a record's id.
        :param load_options: (api id, options, where) → (validated options, problems).
        """
        self.fixtures = fixtures
        self.store = store
        self.clock = clock
        self._id_field = id_field
        self._load_options = load_options
        self.scenario = Scenario("default", None)
        self._options: dict[str, dict[str, t.Any]] = {}
        self.journal = Journal(journal_limit)
        self.faults = Faults()
        self.rules = Rules()

    def options(self, api_id: str) -> dict[str, t.Any]:
        """The scenario's validated behaviour options for an API."""
        return self._options.get(api_id, {})

    def start(self, name: str) -> None:
        """Select the scenario; seed its records unless the store already holds state."""
        scenario = self.fixtures.scenario(name)
        options = self._validated_options(scenario)
        if self.store.is_empty():
            self.store.replace_all(self.seed_records(scenario))
        self.rules.load({api: fixture.rules for api, fixture in scenario.apis.items()})
        self.scenario, self._options = scenario, options

    def load(self, name: str) -> None:
        """Switch to a scenario: its records replace all stored ones; counters restart."""
        scenario = self.fixtures.scenario(name)
        options = self._validated_options(scenario)
        self.store.replace_all(self.seed_records(scenario))
        self.store.reset_counters()
        self.rules.load({api: fixture.rules for api, fixture in scenario.apis.items()})
        self.scenario, self._options = scenario, options

    def reset(self) -> None:
        """Back to the scenario's state: its records, fresh counters, an empty journal, no faults,
        the start clock."""
        self.load(self.scenario.name)
        self.journal.clear()
        self.faults.clear()
        self.clock.reset()

    def _validated_options(self, scenario: Scenario) -> dict[str, dict[str, t.Any]]:
        loaded: dict[str, dict[str, t.Any]] = {}
        problems: list[str] = []
        for api_id, fixture in scenario.apis.items():
            loaded[api_id], found = self._load_options(api_id, fixture.options, f"{api_id}.options")
            problems.extend(found)
        if problems:
            raise FixtureError(str(scenario.source or scenario.name), problems)
        return loaded

    def seed_records(self, scenario: Scenario) -> dict[str, dict[str, list[tuple[str | int, RecordText]]]]:
        """The scenario's records (their texts, which the store keeps as they are) keyed by id.

        :raise FixtureError: a record without its collection's id field.
        """
        seeded: dict[str, dict[str, list[tuple[str | int, RecordText]]]] = {}
        problems: list[str] = []
        for api_id, fixture in scenario.apis.items():
            for collection, records in fixture.records.items():
                field = self._id_field(api_id, collection)
                rows = seeded.setdefault(api_id, {}).setdefault(collection, [])
                for index, text in enumerate(records):
                    record = decode_record(text)
                    if field not in record:
                        problems.append(f"{api_id}.records.{collection}[{index}]: missing the id field {field!r}")
                        continue
                    rows.append((record[field], text))
        if problems:
            raise FixtureError(str(scenario.source or scenario.name), problems)
        return seeded
