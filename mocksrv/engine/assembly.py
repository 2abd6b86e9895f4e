"""Where the engine and the state are wired together, in one direction: the catalog of APIs
first, then the state (which asks the catalog when it seeds a scenario), then the pipeline
over both. `create_app`, `mocksrv check` and the console's scratch copies all build here."""

from __future__ import annotations

from mocksrv.config import Options
from mocksrv.engine.catalog import ApiCatalog
from mocksrv.engine.pipeline import Pipeline
from mocksrv.engine.security import credential_names
from mocksrv.errors import FixtureError
from mocksrv.openapi.specs import ApiSpec
from mocksrv.state.clock import Clock
from mocksrv.state.fixtures import FixtureSet
from mocksrv.state.journal import EntryLog
from mocksrv.state.store import EmbeddedStore
from mocksrv.state.store import Store
from mocksrv.state.world import MockState


def build_pipeline(apis: list[ApiSpec], options: Options) -> Pipeline:
    """Fixtures read and checked against the specs, the store opened, the scenario started.

    :raise FixtureError: a fixture file is invalid, or does not fit the loaded specs.
    :raise StoreError: the ``--db`` file cannot be read.
    :raise SpecError: a spec names a behaviour module that does not exist.
    """
    fixtures = FixtureSet(options.fixtures)
    problems = fixtures.check_against(apis)
    if problems:
        raise FixtureError(str(options.fixtures), problems)
    store, journal = open_store(options)
    pipeline = assemble(ApiCatalog(apis), options, fixtures, store, Clock(options.clock_start),
                        journal_limit=options.journal_limit, journal=journal)
    pipeline.state.start(options.scenario)
    return pipeline


def open_store(options: Options) -> tuple[Store, EntryLog | None]:
    """Redis with ``--store redis://…`` (shared by every process on it, the journal too), else the
    embedded store (``--db``) and a journal in this process's memory (None).

    :raise StoreError: the file cannot be read; `StoreUnavailable`: Redis cannot be reached.
    """
    if options.store_url:
        from mocksrv.state.redis_journal import RedisEntries  # only servers that use it load redis-py
        from mocksrv.state.redis_store import RedisStore

        store = RedisStore(options.store_url)
        return store, RedisEntries(store, options.journal_limit)
    return EmbeddedStore(options.db), None


def rebuild_pipeline(current: Pipeline, apis: list[ApiSpec], options: Options) -> Pipeline:
    """A pipeline over edited specs and fixtures that keeps ``current``'s world: records, counters,
    journal, clock, faults (``serve --watch``). The caller puts it in place of ``current``.

    :raise FixtureError: the fixtures do not fit the specs, or the scenario in force is gone.
    :raise SpecError: a spec names a behaviour module that does not exist.
    """
    fixtures = FixtureSet(options.fixtures)
    problems = fixtures.check_against(apis)
    if problems:
        raise FixtureError(str(options.fixtures), problems)
    catalog = ApiCatalog(apis)
    current.state.adopt(fixtures, catalog, credential_names(apis))
    return Pipeline(catalog, options, current.state)


def assemble(catalog: ApiCatalog, options: Options, fixtures: FixtureSet, store: Store, clock: Clock, *,
             journal_limit: int, journal: EntryLog | None = None) -> Pipeline:
    """A pipeline over a new state of its own; no scenario loaded yet (`MockState.start`/`load`).
    ``journal``: where its entries are kept (default: in memory)."""
    state = MockState(fixtures, store, clock, catalog, journal_limit=journal_limit,
                      secrets=credential_names(catalog.apis), journal=journal)
    return Pipeline(catalog, options, state)
