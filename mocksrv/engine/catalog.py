"""The APIs being served, with what is known of them before any request arrives.

Built once from the loaded specs, before the state: seeding a scenario asks it for each
collection's id field and has each API's behaviour validate the scenario's ``options``
(`state.world.ApiKnowledge`); the pipeline takes its behaviours and validators from it.
"""

from __future__ import annotations

import typing as t

from mocksrv.engine.behaviour import Behaviour
from mocksrv.engine.behaviour import load_behaviour
from mocksrv.engine.events import EventCatalog
from mocksrv.engine.outbox import DeclaredOutbox
from mocksrv.engine.outbox import Outbox
from mocksrv.engine.validation import ApiValidators
from mocksrv.openapi.resources import collection_id_field
from mocksrv.openapi.resources import collection_id_fields
from mocksrv.openapi.resources import infer_resources
from mocksrv.openapi.specs import ApiSpec


class ApiCatalog:
    def __init__(self, apis: list[ApiSpec]) -> None:
        """:raise SpecError: a spec names a behaviour module that does not exist, or declares a malformed outbox."""
        self.apis = apis
        self.behaviours: dict[str, Behaviour] = {
            api.id: behaviour for api in apis if (behaviour := load_behaviour(api)) is not None}
        # REST resources per API and operation key, and each collection's id field
        self.resources = {api.id: infer_resources(api) for api in apis}
        self.id_fields = {api.id: collection_id_fields(api, self.resources[api.id]) for api in apis}
        # openapi-core's unmarshallers and the fast-path checks, made on first use
        self.validators = {api.id: ApiValidators(api) for api in apis}
        # where each API's sent messages are: its behaviour's outbox, else the one its spec declares
        self.declared_outboxes = {api.id: declared for api in apis
                                  if (declared := DeclaredOutbox.declared_by(api)) is not None}
        self.outboxes: dict[str, Outbox] = {**self.declared_outboxes, **{
            api_id: behaviour.outbox for api_id, behaviour in self.behaviours.items() if behaviour.outbox}}
        # the events each API documents (3.1 webhooks) or its behaviour emits
        self.events = {api.id: EventCatalog(api, self.behaviours[api.id].webhook_events if api.id in self.behaviours
                                            else ()) for api in apis}

    def id_field(self, api_id: str, collection: str) -> str:
        """The field that holds a record's id in ``collection`` ("id" when the spec does not say)."""
        return collection_id_field(self.id_fields.get(api_id, {}), collection)

    def webhook_events(self, api_id: str) -> tuple[str, ...]:
        """The event names subscriptions to ``api_id`` may choose from (empty: any name)."""
        catalog = self.events.get(api_id)
        return catalog.names if catalog is not None else ()

    def signs_standard(self, api_id: str) -> bool:
        catalog = self.events.get(api_id)
        return catalog is None or catalog.signing is None

    def load_options(self, api_id: str, options: dict[str, t.Any], where: str) -> tuple[dict[str, t.Any], list[str]]:
        """A scenario's ``options`` for one API, validated by its behaviour: (options, problems)."""
        behaviour = self.behaviours.get(api_id)
        if behaviour is None:
            return options, [f"{where}: API {api_id!r} has no behaviour module, so no options"] if options else []
        return behaviour.load_options(options, where)
