"""The mock's state: the fixtures, the scenario in force, the store and the clock.

Loading a scenario replaces every stored record with the scenario's seed records and
restarts the rate-limit counters. With a persistent store (``--db``) that already holds
state, start-up keeps it: what clients created survives a restart.
"""

from __future__ import annotations

import contextlib
import typing as t
import uuid

from mocksrv.errors import FixtureError
from mocksrv.errors import StoreError
from mocksrv.exchange import CredentialNames
from mocksrv.state.clock import Clock
from mocksrv.state.drift import Drift
from mocksrv.state.faults import Faults
from mocksrv.state.fixtures import FixtureSet
from mocksrv.state.fixtures import Scenario
from mocksrv.state.journal import MAX_ENTRIES
from mocksrv.state.journal import EntryLog
from mocksrv.state.journal import Journal
from mocksrv.state.rules import Rules
from mocksrv.state.store import HOME
from mocksrv.state.store import PackedRecord
from mocksrv.state.store import Store
from mocksrv.state.store import decode_record
from mocksrv.state.store import encode_record
from mocksrv.state.webhooks import SUBSCRIPTIONS
from mocksrv.state.webhooks import Webhooks
from mocksrv.state.webhooks import secret_problem
from mocksrv.state.webhooks import unknown_events

# where a shared store keeps the world's settings
WORLD = (HOME, "world", "settings")
# its version alone, read on every request: the settings can be large (a scenario given inline)
WORLD_VERSION = (HOME, "world", "version")


class ApiKnowledge(t.Protocol):
    """What seeding a scenario needs to know about the APIs served (`engine.catalog.ApiCatalog`
    provides it; the state never imports the engine)."""

    def id_field(self, api_id: str, collection: str) -> str:
        """The field holding a record's id in ``collection``."""

    def load_options(self, api_id: str, options: dict[str, t.Any], where: str) -> tuple[dict[str, t.Any], list[str]]:
        """A scenario's ``options`` for one API, validated: (options, problems)."""

    def webhook_events(self, api_id: str) -> tuple[str, ...]:
        """The events subscriptions to the API may choose from (empty: the API names none, any goes)."""

    def signs_standard(self, api_id: str) -> bool:
        """Whether the API's deliveries are signed the Standard Webhooks way (else its provider's own)."""


class MockState:
    def __init__(self, fixtures: FixtureSet, store: Store, clock: Clock, apis: ApiKnowledge,
                 journal_limit: int = MAX_ENTRIES, secrets: CredentialNames | None = None,
                 journal: EntryLog | None = None) -> None:
        self.fixtures = fixtures
        self.store = store
        self.clock = clock
        self.apis = apis
        self.scenario = Scenario("default", None)
        self._options: dict[str, dict[str, t.Any]] = {}
        self.journal = Journal(journal_limit, secrets, journal)
        self.faults = Faults(store)
        self.rules = Rules(store)
        self.webhooks = Webhooks(store)
        self.drift = Drift()  # what the upstreams answered (the validating proxy)
        self._ids: dict[tuple[int, str], tuple[tuple[PackedRecord, ...], list[str | int]]] = {}
        self._world_version = ""  # the shared settings this process follows (a shared store only)
        self._following = False  # applying them: the clock's moves are not published again
        self._inline: dict[str, t.Any] = {}  # scenarios given inline, as given: a shared world carries them
        if store.shared:
            clock.on_change(self._publish)
            self.faults.on_change(self._publish)
            self.rules.on_change(self._publish)

    def options(self, api_id: str) -> dict[str, t.Any]:
        """The scenario's validated behaviour options for an API."""
        return self._options.get(api_id, {})

    def start(self, name: str) -> None:
        """Select the scenario; seed its records unless the store already holds state. With a shared
        store that holds a world already, follow its scenario and clock instead."""
        world = self.store.get(*WORLD) if self.store.shared else None
        if world is not None:
            following = self._followed(world)
            self._use(following, self._validated_options(following))
            self.refresh()  # its clock
            self.webhooks.reindex()
            return
        scenario = self.fixtures.scenario(name)
        options = self._validated_options(scenario)
        if self.store.is_empty():
            self.store.replace_all(self.seed_records(scenario))
        self.webhooks.reindex()  # what --db kept pending is due again
        self._use(scenario, options)
        self._publish()

    def load(self, name: str) -> None:
        """Switch to a scenario: its records replace all stored ones; counters restart."""
        scenario = self.fixtures.scenario(name)
        options = self._validated_options(scenario)
        faults = self.faults.carry()  # they outlive a switch, with the uses they have left
        self.store.replace_all(self.seed_records(scenario))
        self.webhooks.reindex()
        self.store.reset_counters()
        self.faults.restore(faults)
        self.rules.reload()  # those added through the admin API went with the old scenario
        self._use(scenario, options)
        self._publish()

    def add_inline(self, name: str, document: t.Any) -> None:
        """Register a scenario given inline (the admin API); `load` it next.

        :raise FixtureError: with the path of each problem, or when it does not fit the specs.
        """
        self.fixtures.add(name, document)
        self._inline[name] = document

    def current(self) -> t.ContextManager[None]:
        """For a request run in the block: with a shared store, its first call to the store checks in the same
        round trip that the world is still the one this process follows, and raises `errors.RecordChanged` (having
        done nothing) if another process changed it since; the caller then calls `refresh` and runs the request
        again. So a request sees every change acknowledged before it started, without a round trip of its own."""
        version = {"version": self._world_version} if self._world_version else None
        return self.store.expecting(*WORLD_VERSION, version)

    def confirm_current(self) -> None:
        """Make the check `current` put on the next store call now: before something a second run of the request
        could not take back (a call to an upstream); nothing when a store call made it already. Without the
        shared store the call goes on all the same."""
        with contextlib.suppress(StoreError):
            self.store.confirm_expected()

    def refresh(self) -> None:
        """Follow what another process sharing the store changed: the scenario in force and the clock
        (one read per call; nothing to do with a store of this process's own)."""
        if not self.store.shared:
            return
        seen = self.store.get(*WORLD_VERSION)
        if seen is None or seen["version"] == self._world_version:
            return
        world = self.store.get(*WORLD)
        if world is None:
            return
        self._following = True
        try:
            name = self.scenario.name
            if world.get("scenario") != name or world.get("inline") != self._inline.get(name):
                scenario = self._followed(world)
                self._use(scenario, self._validated_options(scenario))
                self.webhooks.reindex()
            self.faults.reload()
            self.rules.reload()
            self.clock.restore(world["clock"])
            # the version seen, not the settings' own: after two processes published at once the two can
            # differ until the next change, and the settings must not be read again on every request
            self._world_version = str(seen["version"])
        finally:
            self._following = False

    def _publish(self) -> None:
        """Put the scenario in force and the clock where the other processes sharing the store read them."""
        if not self.store.shared or self._following:
            return
        version = uuid.uuid4().hex  # unique across resets, which drop every sequence
        self.store.put(*WORLD, {"scenario": self.scenario.name, "inline": self._inline.get(self.scenario.name),
                                "clock": self.clock.snapshot(), "version": version})
        self.store.put(*WORLD_VERSION, {"version": version})  # after the settings: whoever sees it finds them
        self._world_version = version

    def _followed(self, world: dict[str, t.Any]) -> Scenario:
        """The scenario a shared world has in force; one given inline to another process is read from it."""
        name = str(world["scenario"])
        if world.get("inline") is not None:
            self.add_inline(name, world["inline"])
        return self.fixtures.scenario(name)

    def reset(self) -> None:
        """Back to the scenario's state: its records, fresh counters, an empty journal, no faults,
        the start clock."""
        self.load(self.scenario.name)
        self.journal.clear()
        self.drift.clear()
        self.faults.clear()
        self.clock.reset()

    def adopt(self, fixtures: FixtureSet, apis: ApiKnowledge, secrets: CredentialNames) -> None:
        """Serve edited specs and fixtures (``serve --watch``): the scenario in force is read again
        from ``fixtures`` (keys, options, rules), the records, counters, journal and clock stay.

        :raise FixtureError: the scenario in force is gone or no longer fits the specs; nothing changed.
        """
        scenario = fixtures.scenario(self.scenario.name)
        options = self._validated_options(scenario, apis)
        self.fixtures, self.apis, self.journal.secrets = fixtures, apis, secrets
        self._use(scenario, options)

    def _use(self, scenario: Scenario, options: dict[str, dict[str, t.Any]]) -> None:
        """Put a scenario (already read and its options validated) in force: its keys, options and rules."""
        self.rules.load({api: fixture.rules for api, fixture in scenario.apis.items()})
        self.scenario, self._options = scenario, options

    def _validated_options(self, scenario: Scenario, apis: ApiKnowledge | None = None) -> dict[str, dict[str, t.Any]]:
        knowledge = apis or self.apis
        loaded: dict[str, dict[str, t.Any]] = {}
        problems: list[str] = []
        for api_id, fixture in scenario.apis.items():
            loaded[api_id], found = knowledge.load_options(api_id, fixture.options, f"{api_id}.options")
            problems.extend(found)
            for index, subscription in enumerate(fixture.webhooks):
                for field in ("events", "drop"):
                    problem = unknown_events(subscription.get(field), knowledge.webhook_events(api_id))
                    problems += [f"{api_id}.webhooks[{index}].{field}: {problem}"] if problem else []
                problem = secret_problem(subscription["secret"], knowledge.signs_standard(api_id))
                problems += [f"{api_id}.webhooks[{index}].secret: {problem}"] if problem else []
        if problems:
            raise FixtureError(str(scenario.source or scenario.name), problems)
        return loaded

    def seed_records(self, scenario: Scenario) -> dict[str, dict[str, list[tuple[str | int, PackedRecord]]]]:
        """The scenario's records (packed, as the store keeps them) keyed by id.

        :raise FixtureError: a record without its collection's id field.
        """
        seeded: dict[str, dict[str, list[tuple[str | int, PackedRecord]]]] = {}
        problems: list[str] = []
        used: dict[tuple[int, str], tuple[tuple[PackedRecord, ...], list[str | int]]] = {}
        for api_id, fixture in scenario.apis.items():
            for collection, records in fixture.records.items():
                field = self.apis.id_field(api_id, collection)
                where = f"{api_id}.records.{collection}"
                seeded.setdefault(api_id, {})[collection] = self._keyed(records, field, where, problems, used)
            if fixture.webhooks:
                seeded.setdefault(api_id, {})[SUBSCRIPTIONS] = [(s["id"], encode_record(s)) for s in fixture.webhooks]
        if problems:
            raise FixtureError(str(scenario.source or scenario.name), problems)
        # only this scenario's lists are remembered: an inline scenario uploaded again and again
        # (a test suite's setup) must not keep every earlier upload alive
        self._ids = used
        return seeded

    def _keyed(self, records: tuple[PackedRecord, ...], field: str, where: str, problems: list[str],
               used: dict[tuple[int, str], tuple[tuple[PackedRecord, ...], list[str | int]]]
               ) -> list[tuple[str | int, PackedRecord]]:
        """(id, record) for each record. The ids are remembered per fixture list, so a reset does
        not unpack every record again to find its id (100k records: ~0.7 s); only the ids, as
        the pairs themselves would cost 6 MB at 100k."""
        known = self._ids.get((id(records), field))
        if known is not None and known[0] is records:
            used[(id(records), field)] = known
            return list(zip(known[1], records, strict=True))
        ids: list[str | int] = []
        for index, packed in enumerate(records):
            record = decode_record(packed)
            if field not in record:
                problems.append(f"{where}[{index}]: missing the id field {field!r}")
                continue
            ids.append(record[field])
        if len(ids) < len(records):
            return []  # the problems make the load fail
        # holding ``records`` in the entry means its id is never reused for another list meanwhile
        used[(id(records), field)] = (records, ids)
        return list(zip(ids, records, strict=True))
