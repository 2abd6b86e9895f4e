"""Client soak: many HTTP clients at once against one server process, nothing lost or miscounted.

What this shows and what it cannot: the server answers mocked APIs one at a time on its
event loop, so these clients exercise queuing, keep-alive, interleaved requests and the
journal under a burst; they do not race threads inside the store (only the admin API's
threads could, and they are idle here). The store's thread safety is tested directly, with
threads and a microsecond switch interval, in tests/test_store.py (``*_under_threads``).

One burst per server: 32 clients, each with its own ``requests.Session``, released
together by a barrier. They create records on five APIs (the four bundled ones and the
generic petstore) and read each one back at once. In memory they also spend the quota of
16 rate-limited keys (4 per seed API, each key's calls spread over several clients) with
the virtual clock frozen, so every window stays the same; with ``--db FILE`` the burst is
the records part only, and the file is replayed into a fresh store afterwards. Then:

- every client finishes within a bound (no deadlock) and saw no transport error;
- every create answered 2xx is readable at once and listed afterwards (records lost: 0),
  nothing else was stored, and no id is handed out twice;
- each limited key got exactly ``LIMIT`` successes (remaining counts ``LIMIT-1 … 0``, each
  once) and a 429 for every other call; unlimited keys never saw a 429;
- the journal has one entry per request sent, with unique ids and the statuses the
  clients saw.

Run with ``-s`` to see the figures quoted in docs/reliability.md.
"""

from __future__ import annotations

import collections
import json
import random
import shutil
import threading
import time
import typing as t
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import pytest
import requests

from conftest import DATA
from conftest import FIXTURES
from conftest import SPECS
from conftest import MockServer
from mocksrv.state.store import EmbeddedStore

Json = t.Any
CLIENTS = 32
SERVER_THREADS = 8
CREATES_PER_CLIENT = 8  # each followed by a read of what it created
LIMIT = 5  # per limited key, in a window the frozen clock never leaves
LIMITED_KEYS_PER_API = 4
CALLS_PER_LIMITED_KEY = 16
DEADLINE = 60.0  # seconds for the whole burst; a deadlock shows as threads still running
REQUEST_TIMEOUT = 20.0
PETSTORE = DATA / "petstore-expanded-3.0.yaml"
PET_API = PETSTORE.stem

# (key, owner, scopes) of each seed API's demo key, as in fixtures/default.yaml
KEYS = {
    "maxcare": ("mk_live_demo", "app_demo", ["emails:send", "emails:read"]),
    "maildiver": ("md_demo", "acct_demo", ["emails:send"]),
    "settings-mailer": ("sm_demo", "1", ["mail:send", "mail:read"]),
    "send-service": ("ss_demo", "cust_demo", ["send"]),
}
COLLECTIONS = {"maxcare": "emails", "maildiver": "emails", "settings-mailer": "mail-history",
               "send-service": "messages", PET_API: "pets"}
CREATE_APIS = [*KEYS, PET_API]


def limited_keys(api: str) -> list[str]:
    return [f"{KEYS[api][0]}_rl{index}" for index in range(LIMITED_KEYS_PER_API)]


def soak_scenario() -> dict[str, Json]:
    """The default scenario, with no API-wide limit and four tightly limited keys per seed API."""
    document: dict[str, Json] = {"scenario": {"description": "concurrency soak: limited keys, no API-wide limit",
                                              "extends": "default"}}
    for api, (key, owner, scopes) in KEYS.items():
        document[api] = {
            "rate_limit": None,
            "api_keys": [{"key": key, "owner": owner, "scopes": scopes}] + [
                {"key": limited, "owner": owner, "scopes": scopes,
                 "rate_limit": {"limit": LIMIT, "window_seconds": 3600}} for limited in limited_keys(api)],
        }
    return document


# -- the calls -----------------------------------------------------------------------------


def create(session: requests.Session, base: str, api: str, key: str | None, tag: str) -> requests.Response:
    """One create on ``api`` with a body that names ``tag``."""
    if api == "maxcare":
        return session.post(f"{base}/maxcare/v3/emails/send", timeout=REQUEST_TIMEOUT,
                            headers={"Authorization": f"Bearer {key}", "X-Organization-Id": "org_demo"},
                            json={"from": "soak", "subject": tag, "html": "<p>x</p>", "emailType": "soak",
                                  "patientIds": ["pat_8de030393a9e417ab2b3a8b8df183631"]})
    if api == "maildiver":
        return session.post(f"{base}/maildiver/v1/emails", timeout=REQUEST_TIMEOUT,
                            headers={"Authorization": f"Bearer {key}"},
                            json={"from": "a@example.com", "to": ["b@example.com"], "subject": tag, "html": "x"})
    if api == "settings-mailer":
        return session.post(f"{base}/settings-mailer/api/settings/sendmail", timeout=REQUEST_TIMEOUT,
                            headers={"Authorization": f"Bearer {key}"},
                            files={"to": (None, '["b@example.com"]'), "subject": (None, tag), "body": (None, "x")})
    if api == "send-service":
        return session.post(f"{base}/send-service/api/v1/send", timeout=REQUEST_TIMEOUT,
                            headers={"X-API-Key": str(key)},
                            json={"to": "b@example.com", "subject": tag, "html": "x"})
    return session.post(f"{base}/{PET_API}/api/pets", json={"name": tag, "tag": "soak"}, timeout=REQUEST_TIMEOUT)


def created_ids(api: str, body: Json) -> list[Json]:
    """The ids a 2xx create answered with."""
    if api == "maxcare":
        return [sent["id"] for sent in body["data"]["sent"]]
    if api == "settings-mailer":
        return [body["mail_id"]]
    if api == "send-service":
        return [body["email_id"]]
    return [body["id"]]


def read_back(session: requests.Session, base: str, api: str, record_id: Json) -> tuple[int | None, str]:
    """Read a record just created: through the API where it has a read, else the admin API.

    Returns (the API's status, None through the admin API; the problem, or "").
    """
    key = KEYS[api][0] if api in KEYS else None
    if api == "maxcare":
        response = session.get(f"{base}/maxcare/v3/emails/{record_id}", timeout=REQUEST_TIMEOUT,
                               headers={"Authorization": f"Bearer {key}", "X-Organization-Id": "org_demo"})
        found = response.json()["data"]["id"] if response.status_code == 200 else None
        return response.status_code, "" if found == record_id else f"{response.status_code} {response.text[:200]}"
    if api == "settings-mailer":
        response = session.get(f"{base}/settings-mailer/api/settings/mail-history/{record_id}",
                               headers={"Authorization": f"Bearer {key}"}, timeout=REQUEST_TIMEOUT)
        found = response.json()["mail"]["mail_id"] if response.status_code == 200 else None
        return response.status_code, "" if found == record_id else f"{response.status_code} {response.text[:200]}"
    if api == PET_API:
        response = session.get(f"{base}/{PET_API}/api/pets/{record_id}", timeout=REQUEST_TIMEOUT)
        found = response.json()["id"] if response.status_code == 200 else None
        return response.status_code, "" if found == record_id else f"{response.status_code} {response.text[:200]}"
    response = session.get(f"{base}/__mocksrv/apis/{api}/records/{COLLECTIONS[api]}/{record_id}",
                           timeout=REQUEST_TIMEOUT)
    return None, "" if response.status_code == 200 else f"{response.status_code} {response.text[:200]}"


# -- one burst -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    api: str
    key: str | None
    limited: bool


@dataclass
class Sent:
    """One request to a mocked API, as its client saw it."""

    api: str
    key: str | None
    limited: bool
    status: int
    remaining: str | None  # X-RateLimit-Remaining


@dataclass
class ClientLog:
    sent: list[Sent] = field(default_factory=list)
    acknowledged: list[tuple[str, Json]] = field(default_factory=list)  # (api, id) of every 2xx create
    unreadable: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    done: bool = False


def jobs_per_client(limited: bool) -> list[list[Job]]:
    """Creates round-robin over the APIs; each limited key's calls spread over many clients."""
    jobs: list[list[Job]] = [[Job(CREATE_APIS[(c + i) % len(CREATE_APIS)], None, False)
                              for i in range(CREATES_PER_CLIENT)] for c in range(CLIENTS)]
    keys = [(api, key) for api in KEYS for key in limited_keys(api)] if limited else []
    for number, (api, key) in enumerate(keys):
        for attempt in range(CALLS_PER_LIMITED_KEY):
            jobs[(number * 5 + attempt) % CLIENTS].append(Job(api, key, True))
    shuffle = random.Random(6)
    for own in jobs:
        shuffle.shuffle(own)
    return jobs


def run_client(base: str, jobs: list[Job], start: threading.Barrier, log: ClientLog) -> None:
    with requests.Session() as session:
        try:
            start.wait(timeout=30)
        except threading.BrokenBarrierError:
            log.errors.append("the clients were not all ready within 30 s")
            return
        for number, job in enumerate(jobs):
            tag = f"soak {threading.get_ident()} {number}"
            try:
                response = create(session, base, job.api, job.key or KEYS.get(job.api, (None,))[0], tag)
                log.sent.append(Sent(job.api, job.key, job.limited, response.status_code,
                                     response.headers.get("X-RateLimit-Remaining")))
                if job.limited and response.status_code == 429:
                    continue
                if not 200 <= response.status_code < 300:
                    log.unexpected.append(f"{job.api} create ({job.key}): {response.status_code} {response.text[:200]}")
                    continue
                for record_id in created_ids(job.api, response.json()):
                    log.acknowledged.append((job.api, record_id))
                    status, problem = read_back(session, base, job.api, record_id)
                    if status is not None:
                        log.sent.append(Sent(job.api, None, False, status, None))
                    if problem:
                        log.unreadable.append(f"{job.api} {record_id!r}: {problem}")
            except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
                log.errors.append(f"{job.api} ({job.key}): {exc!r}")
    log.done = True


@dataclass
class Soak:
    """What one burst did, and what the server held afterwards."""

    label: str
    server: MockServer
    db: Path | None
    seconds: float
    logs: list[ClientLog]
    journal: list[dict[str, Json]]
    seeded: dict[str, list[Json]]  # api -> ids of the collection's records before the burst
    stored: dict[str, list[Json]]  # api -> ids of the collection's records after it

    @property
    def sent(self) -> list[Sent]:
        return [s for log in self.logs for s in log.sent]

    @property
    def acknowledged(self) -> list[tuple[str, Json]]:
        return [a for log in self.logs for a in log.acknowledged]

    def lost(self) -> list[tuple[str, Json]]:
        stored = {(api, record_id) for api, ids in self.stored.items() for record_id in ids}
        return [a for a in self.acknowledged if a not in stored]

    def summary(self) -> str:
        limited = [s for s in self.sent if s.limited]
        passed = sum(1 for s in limited if 200 <= s.status < 300)
        creates = len(self.acknowledged)
        quota = (f"{passed} of {len(limited)} calls on {len(KEYS) * LIMITED_KEYS_PER_API} limited keys passed "
                 f"(limit {LIMIT} each), the rest 429; ") if limited else ""
        return (f"concurrency soak ({self.label}): {CLIENTS} clients, {SERVER_THREADS} server threads, "
                f"{len(self.sent)} requests to {len(CREATE_APIS)} mocked APIs in {self.seconds:.1f} s; "
                f"{creates} records created and acknowledged, {len(self.lost())} lost, "
                f"{creates - len(set(self.acknowledged))} duplicate ids; {quota}"
                f"journal {len(self.journal)} entries for {len(self.sent)} requests")


def stored_ids(server: MockServer) -> dict[str, list[Json]]:
    """api -> the id of every record in its collection, as the admin API lists them."""
    stored: dict[str, list[Json]] = {}
    for api, collection in COLLECTIONS.items():
        listing = requests.get(server.url(f"/__mocksrv/apis/{api}/records/{collection}"), timeout=30).json()
        id_field = "mail_id" if api == "settings-mailer" else "id"
        stored[api] = [record[id_field] for record in listing["records"]]
    return stored


def burst(label: str, server: MockServer, db: Path | None, *, limited: bool) -> Soak:
    """Run the clients, then read back the journal and what is stored.

    :param limited: also spend the quota of the limited keys.
    """
    seeded = stored_ids(server)
    clock = requests.post(server.url("/__mocksrv/clock"), json={"frozen": True}, timeout=10)
    assert clock.status_code == 200, clock.text
    assert requests.delete(server.url("/__mocksrv/requests"), timeout=10).status_code == 204
    plan = jobs_per_client(limited)
    logs = [ClientLog() for _ in plan]
    start = threading.Barrier(len(plan))
    threads = [threading.Thread(target=run_client, args=(server.base_url, jobs, start, log), daemon=True)
               for jobs, log in zip(plan, logs, strict=True)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, began + DEADLINE - time.monotonic()))
    seconds = time.monotonic() - began
    journal = requests.get(server.url("/__mocksrv/requests"), timeout=30).json()["requests"]
    soak = Soak(label, server, db, seconds, logs, journal, seeded, stored_ids(server))
    print(f"\n{soak.summary()}")
    return soak


@pytest.fixture(scope="module")
def fixtures_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("soak-fixtures")
    shutil.copy(FIXTURES / "default.yaml", folder / "default.yaml")
    (folder / "soak.json").write_text(json.dumps(soak_scenario(), indent=1))
    return folder


def serve(fixtures_folder: Path, *extra: str) -> MockServer:
    return MockServer("--specs", str(SPECS), "--specs", str(PETSTORE), "--fixtures", str(fixtures_folder),
                      "--scenario", "soak", "--strict", "--threads", str(SERVER_THREADS),
                      "--journal-limit", "100000", *extra)


@pytest.fixture(scope="module")
def memory_soak(fixtures_folder: Path) -> t.Iterator[Soak]:
    """In memory: creates, reads and the limited keys' calls."""
    server = serve(fixtures_folder)
    try:
        yield burst("memory", server, None, limited=True)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def db_soak(fixtures_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Soak]:
    """With ``--db FILE``: the records part (creates and reads), every write fsynced."""
    db = tmp_path_factory.mktemp("soak-db") / "state.jsonl"
    server = serve(fixtures_folder, "--db", str(db))
    try:
        yield burst(f"--db {db.name}", server, db, limited=False)
    finally:
        server.stop()


@pytest.fixture(scope="module", params=["memory", "db"])
def soak(request: pytest.FixtureRequest) -> Soak:
    return t.cast(Soak, request.getfixturevalue(f"{request.param}_soak"))


def replayed(db: Path) -> set[tuple[str, Json]]:
    """What a restart would read: a copy of the log replayed into a fresh store (the server keeps its file)."""
    copy = db.with_name("replayed.jsonl")
    shutil.copyfile(db, copy)
    with EmbeddedStore(copy) as store:
        found: set[tuple[str, Json]] = set()
        for api, collection in COLLECTIONS.items():
            records, _ = store.list(api, collection)
            id_field = "mail_id" if api == "settings-mailer" else "id"
            found.update((api, record[id_field]) for record in records)
    return found


# -- what must hold ------------------------------------------------------------------------


def test_every_client_finishes_without_a_transport_error(soak: Soak) -> None:
    stuck = sum(1 for log in soak.logs if not log.done)
    assert stuck == 0, f"{stuck} of {CLIENTS} clients still running after {DEADLINE} s: a deadlock? {soak.summary()}"
    errors = [e for log in soak.logs for e in log.errors]
    assert not errors, f"{len(errors)} transport errors, e.g. {errors[:5]}"
    unexpected = [u for log in soak.logs for u in log.unexpected]
    assert not unexpected, f"{len(unexpected)} unexpected answers, e.g. {unexpected[:5]}"


def test_every_acknowledged_create_is_readable_at_once_and_listed(soak: Soak) -> None:
    assert len(soak.acknowledged) >= CLIENTS * CREATES_PER_CLIENT, soak.summary()
    unreadable = [u for log in soak.logs for u in log.unreadable]
    assert not unreadable, f"{len(unreadable)} created records not readable at once, e.g. {unreadable[:5]}"
    lost = soak.lost()
    assert not lost, f"records lost: {len(lost)}, e.g. {lost[:5]}; {soak.summary()}"
    if soak.db is not None:
        in_file = replayed(soak.db)
        lost = [a for a in soak.acknowledged if a not in in_file]
        assert not lost, f"records lost in {soak.db.name}: {len(lost)}, e.g. {lost[:5]}"


def test_the_apis_own_listings_show_every_created_record(soak: Soak) -> None:
    created = collections.defaultdict(set)
    for api, record_id in soak.acknowledged:
        created[api].add(record_id)
    pets = requests.get(soak.server.url(f"/{PET_API}/api/pets"), timeout=30)
    assert pets.status_code == 200
    assert created[PET_API] <= {pet["id"] for pet in pets.json()}
    mails: set[Json] = set()
    total = None
    for page in range(200):  # bounded: 100 per page
        listed = requests.get(soak.server.url("/settings-mailer/api/settings/mail-history"),
                              params={"limit": 100, "offset": page * 100},
                              headers={"Authorization": "Bearer sm_demo"}, timeout=30)
        assert listed.status_code == 200, listed.text
        body = listed.json()
        total = body["total"]
        mails.update(mail["mail_id"] for mail in body["mails"])
        if not body["mails"]:
            break
    assert total == len(mails) == len(soak.stored["settings-mailer"])
    missing = created["settings-mailer"] - mails
    assert not missing, f"{len(missing)} sent mails missing from the history, e.g. {sorted(missing)[:5]}"


def test_nothing_is_stored_that_was_not_acknowledged(soak: Soak) -> None:
    for api in COLLECTIONS:
        acknowledged = [record_id for created_in, record_id in soak.acknowledged if created_in == api]
        assert sorted(map(str, soak.stored[api])) == sorted(map(str, soak.seeded[api] + acknowledged)), (
            f"{api}: {len(soak.stored[api])} stored, {len(soak.seeded[api])} seeded + {len(acknowledged)} created")


def test_no_id_is_handed_out_twice(soak: Soak) -> None:
    counted = collections.Counter(soak.acknowledged)
    twice = [entry for entry, times in counted.items() if times > 1]
    assert not twice, f"ids acknowledged more than once: {twice[:5]}"
    for api, ids in soak.stored.items():
        repeated = [record_id for record_id, times in collections.Counter(ids).items() if times > 1]
        assert not repeated, f"{api}: ids stored twice: {repeated[:5]}"


def test_rate_limits_are_exact_per_key_under_contention(memory_soak: Soak) -> None:
    soak = memory_soak
    by_key: dict[str, list[Sent]] = collections.defaultdict(list)
    for sent in soak.sent:
        if sent.limited:
            by_key[str(sent.key)].append(sent)
    assert len(by_key) == len(KEYS) * LIMITED_KEYS_PER_API
    for key, calls in sorted(by_key.items()):
        statuses = collections.Counter("2xx" if 200 <= s.status < 300 else s.status for s in calls)
        assert statuses == {"2xx": LIMIT, 429: CALLS_PER_LIMITED_KEY - LIMIT}, f"{key}: {dict(statuses)}"
        remaining = sorted(int(s.remaining or -1) for s in calls if 200 <= s.status < 300)
        assert remaining == list(range(LIMIT)), f"{key}: X-RateLimit-Remaining of the successes {remaining}"
    unlimited_429 = [s for s in soak.sent if not s.limited and s.status == 429]
    assert not unlimited_429, f"{len(unlimited_429)} calls with unlimited keys were answered 429"


def test_the_journal_has_one_entry_per_request(soak: Soak) -> None:
    entries = soak.journal
    assert len(entries) == len(soak.sent), soak.summary()
    ids = [entry["id"] for entry in entries]
    assert len(set(ids)) == len(ids), "journal ids repeat"
    seen = collections.Counter((s.api, s.status) for s in soak.sent)
    journaled = collections.Counter((entry["api"], entry["response"]["status"]) for entry in entries)
    assert journaled == seen
    assert all(entry["valid"] for entry in entries)
