"""The deployment examples in examples/scale-out (docs/scale-out.md, "Running replicas").

No Docker engine or cluster runs here, so each file is read as its tool reads it and checked against
mocksrv itself: every mocksrv command line is parsed by `mocksrv serve`'s own options (after the
Dockerfile's ENTRYPOINT, which it follows), the Redis it names is the one the file runs (with AOF on),
and every health check asks a path that mocksrv answers a non-loopback client without the admin token.
"""

from __future__ import annotations

import json
import re
import typing as t
from urllib.parse import urlsplit

import pytest
import yaml
from flask.testing import FlaskClient

from conftest import FIXTURES
from conftest import ROOT
from conftest import SPECS
from mocksrv import Options
from mocksrv import create_app
from mocksrv.serving.cli import serve

EXAMPLES = ROOT / "examples" / "scale-out"
COMPOSE = yaml.safe_load((EXAMPLES / "docker-compose.yml").read_text())
KUBERNETES = list(yaml.safe_load_all((EXAMPLES / "kubernetes.yaml").read_text()))
HAPROXY = (EXAMPLES / "haproxy.cfg").read_text()
DOCKERFILE = (ROOT / "Dockerfile").read_text()
TOKEN = "a-token-of-ones-own"  # what the user puts in MOCKSRV_ADMIN_TOKEN or the Secret
POD = {"REMOTE_ADDR": "10.42.0.7"}  # a kubelet, haproxy: not loopback


def serve_options(args: list[str], environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, t.Any]:
    """What `mocksrv serve` makes of the image's ENTRYPOINT followed by ``args``, in ``environment`` alone.

    :raise click.UsageError: an option it does not take, or a value it refuses.
    """
    found = re.search(r"^ENTRYPOINT (.+)$", DOCKERFILE, re.MULTILINE)
    assert found is not None
    entrypoint = json.loads(found.group(1))
    assert entrypoint[:2] == ["mocksrv", "serve"]
    monkeypatch.delenv("MOCKSRV_ADMIN_TOKEN", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return serve.make_context("serve", [*entrypoint[2:], *args]).params


def image_folders() -> set[str]:
    """The folders the Dockerfile copies into the image (``COPY specs /specs``)."""
    return set(re.findall(r"^COPY \S+ (/\S+)$", DOCKERFILE, re.MULTILINE))


@pytest.fixture(scope="module")
def probed() -> FlaskClient:
    """mocksrv as a replica runs it (the bundled specs and scenarios, an admin token), asked in-process."""
    return create_app(Options(specs=[SPECS], fixtures=FIXTURES, admin_token=TOKEN)).test_client()


def assert_answers_probes(client: FlaskClient, path: str) -> None:
    answer = client.get(path, environ_base=POD)
    assert answer.status_code == 200 and answer.get_json()["status"] == "ok", (path, answer.status_code)
    assert client.get("/__mocksrv/apis", environ_base=POD).status_code == 401  # the admin API itself needs it


def assert_serves_the_image_on_redis(params: dict[str, t.Any], redis_services: set[str]) -> None:
    store = urlsplit(params["store_url"])
    assert store.scheme == "redis" and store.hostname in redis_services and store.port == 6379
    assert params["admin_token"] == TOKEN  # behind a balancer nobody is a loopback client
    assert {*map(str, params["specs"]), str(params["fixtures"])} <= image_folders()
    assert params["host"] == "0.0.0.0"  # reached from other containers and pods


def assert_aof_on(args: list[str]) -> None:
    assert args[args.index("--appendonly") + 1] == "yes"
    assert args[args.index("--appendfsync") + 1] in ("everysec", "always")


# -- docker-compose.yml -----------------------------------------------------------------------------

def compose_replicas() -> dict[str, dict[str, t.Any]]:
    return {name: service for name, service in COMPOSE["services"].items() if "build" in service}


def compose_environment(service: dict[str, t.Any]) -> dict[str, str]:
    """The service's environment with each ``${VAR:?…}`` given, as compose does from the user's shell."""
    return {name: re.sub(r"\$\{[^}]*\}", TOKEN, value) for name, value in service["environment"].items()}


def test_compose_runs_three_replicas_of_the_repository_image_on_its_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    replicas = compose_replicas()
    assert len(replicas) == 3
    for service in replicas.values():
        assert (EXAMPLES / service["build"]["context"]).resolve() == ROOT
        params = serve_options(service["command"], compose_environment(service), monkeypatch)
        assert_serves_the_image_on_redis(params, {"redis"})
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"  # it exits 1 without Redis
    redis = COMPOSE["services"]["redis"]
    assert redis["command"][0] == "redis-server"
    assert_aof_on(redis["command"])
    assert any(volume.endswith(":/data") for volume in redis["volumes"])  # the AOF outlives the container


def test_haproxy_sends_round_robin_to_each_replica_it_finds_healthy(
        probed: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    balancer = COMPOSE["services"]["balancer"]
    assert "./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in balancer["volumes"]
    bound = re.search(r"^\s*bind :(\d+)$", HAPROXY, re.MULTILINE)
    assert bound is not None and f"{bound.group(1)}:{bound.group(1)}" in balancer["ports"]
    port = serve_options([], {}, monkeypatch)["port"]
    for backend in re.split(r"^backend ", HAPROXY, flags=re.MULTILINE)[1:]:
        assert re.search(r"^\s*balance roundrobin$", backend, re.MULTILINE)
        servers = re.findall(r"^\s*server \S+ (\S+):(\d+)", backend, re.MULTILINE)
        assert sorted(servers) == sorted((name, str(port)) for name in compose_replicas())
        check = re.search(r"^\s*option httpchk GET (\S+)$", backend, re.MULTILINE)
        assert check is not None and "check" in backend
        assert_answers_probes(probed, check.group(1))


# -- kubernetes.yaml --------------------------------------------------------------------------------

def manifest(kind: str, name: str) -> dict[str, t.Any]:
    return next(item for item in KUBERNETES if item["kind"] == kind and item["metadata"]["name"] == name)


def only_container(deployment: dict[str, t.Any]) -> dict[str, t.Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return t.cast(dict[str, t.Any], containers[0])


def test_kubernetes_runs_three_replicas_on_the_redis_service(monkeypatch: pytest.MonkeyPatch) -> None:
    deployment = manifest("Deployment", "mocksrv")
    assert deployment["spec"]["replicas"] == 3
    container = only_container(deployment)
    assert "command" not in container  # so the image's ENTRYPOINT runs, and `args` follow it
    secret = {variable["name"]: TOKEN for variable in container["env"] if "secretKeyRef" in variable["valueFrom"]}
    params = serve_options(container["args"], secret, monkeypatch)
    services = {item["metadata"]["name"]: item for item in KUBERNETES if item["kind"] == "Service"}
    redis_service = services[urlsplit(params["store_url"]).hostname or ""]
    assert_serves_the_image_on_redis(params, {redis_service["metadata"]["name"]})
    assert redis_service["spec"]["ports"][0]["port"] == 6379
    redis = manifest("Deployment", "redis")
    assert redis_service["spec"]["selector"].items() <= redis["spec"]["template"]["metadata"]["labels"].items()
    assert_aof_on(only_container(redis)["args"])
    claim = manifest("PersistentVolumeClaim", "redis-data")["metadata"]["name"]
    volumes = {volume["name"]: volume for volume in redis["spec"]["template"]["spec"]["volumes"]}
    mounted = {mount["mountPath"]: volumes[mount["name"]] for mount in only_container(redis)["volumeMounts"]}
    assert mounted["/data"]["persistentVolumeClaim"]["claimName"] == claim  # the AOF outlives the pod
    front = services["mocksrv"]["spec"]
    assert front["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert front["ports"][0]["targetPort"] == params["port"]


@pytest.mark.parametrize("probe", ["readinessProbe", "livenessProbe"])
def test_kubernetes_probes_ask_what_mocksrv_answers_the_kubelet_without_a_token(
        probe: str, probed: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    container = only_container(manifest("Deployment", "mocksrv"))
    asked = container[probe]["httpGet"]
    assert asked["port"] == serve_options(container["args"], {}, monkeypatch)["port"]
    assert asked["port"] in [port["containerPort"] for port in container["ports"]]
    assert_answers_probes(probed, asked["path"])


def test_the_examples_are_the_files_docs_scale_out_links() -> None:
    text = (ROOT / "docs" / "scale-out.md").read_text()
    for path in (EXAMPLES / "docker-compose.yml", EXAMPLES / "haproxy.cfg", EXAMPLES / "kubernetes.yaml"):
        assert f"(../{path.relative_to(ROOT)})" in text

