"""All server options in one place; the defaults live here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from pathlib import Path


@dataclass
class Options:
    specs: list[Path] = field(default_factory=lambda: [Path("specs")])
    fixtures: Path | None = None  # folder of scenario files; None: every API in open mode
    scenario: str = "default"
    db: Path | None = None  # append-only state file; None: state lives in memory
    store_url: str | None = None  # redis://HOST:PORT/DB: state in Redis, shared by processes; None: embedded
    workers: int = 1  # processes serving the same port(s); more than one needs the shared store_url
    clock_start: datetime | None = None  # the virtual clock's first instant; None: real time
    host: str = "127.0.0.1"
    port: int = 4010
    seed: int = 0
    strict: bool = False  # answer 500 when mocksrv itself built a response the spec forbids
    skip_invalid: bool = False  # load the other specs when one is broken
    strict_specs: bool = False  # refuse a spec that needs a repair instead of repairing it with a warning
    # five 10 MB attachments (settings mailer) or 40 MB of MailDiver html, plus encoding overhead
    max_body_bytes: int = 64 * 1024 * 1024
    threads: int = 4  # for the admin API and console; mocked APIs are answered on the event loop
    journal_limit: int = 10_000  # requests kept in the journal; the oldest go first
    admin_token: str | None = None  # when set, admin calls need it and remote clients are allowed
    cors: bool = True  # answer browsers' preflights and let any page read the mocked APIs' answers
    cors_origins: list[str] | None = None  # the origins CORS allows; None: any
    session_idle_seconds: float = 3600.0  # a session nobody used for this long is deleted
    max_sessions: int = 1000  # live sessions at once (each holds its own records and journal)
    webhook_allow: list[str] = field(default_factory=list)  # hosts beyond loopback webhooks may go to
    webhook_timeout: float = 5.0  # seconds one delivery attempt may take
    upstreams: dict[str, str] = field(default_factory=dict)  # API id -> the real API's base URL (the proxy)
    upstream_mode: str = "forward"  # forward: every request goes on; enforce: an invalid one is answered here;
    # fallback: the mock answers, and the upstream what the mock has no record for (and the live operations)
    upstream_live: list[str] = field(default_factory=list)  # operations fallback mode always forwards
    upstream_insecure: bool = False  # do not verify the upstreams' TLS certificates
    upstream_timeout: float = 30.0  # seconds an upstream may take to answer
    record: str | None = None  # write what the proxy saw as this scenario, in the fixtures folder
    record_redact: list[str] = field(default_factory=list)  # fields written as "[redacted]" when recording


@dataclass
class TlsOptions:
    """HTTPS for `mocksrv serve`: off unless ``on`` (``--tls``) or ``port`` (``--tls-port``) is given."""

    on: bool = False  # --tls: --port serves HTTPS instead of HTTP
    port: int | None = None  # --tls-port: HTTPS on this port as well, HTTP stays on --port
    cert: Path | None = None  # --tls-cert: the user's certificate (PEM); None: the local CA's, made on first use
    key: Path | None = None  # --tls-key: its unencrypted key (PEM)
    folder: Path | None = None  # --tls-dir: where the local CA is kept; None: the user's data folder

    @property
    def wanted(self) -> bool:
        return self.on or self.port is not None or self.cert is not None or self.key is not None
