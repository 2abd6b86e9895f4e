"""HTTPS (`mocksrv serve --tls`, issue 23 item 2): the local CA and its certificate (serving/tls.py), then
real servers reached by requests, curl and the standard library with the CA they print, and refused without it.

Every CA here lives in a temporary folder (conftest.tls_home sets MOCKSRV_TLS_DIR for the session; the tests
that need their own pass --tls-dir), never in the user's data folder.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import ssl
import subprocess
import sys
import textwrap
import urllib.request
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from conftest import ROOT
from conftest import SPECS
from conftest import MockServer
from mocksrv.client import MockServerProcess
from mocksrv.errors import TlsError
from mocksrv.serving import tls

MAILDIVER = str(SPECS / "maildiver.yaml")
SEND = {"from": "a@example.com", "to": "b@example.com", "subject": "Hi", "html": "<p>x</p>"}
KEY = {"Authorization": "Bearer md_demo"}
CURL = shutil.which("curl")


# -- the local CA and its certificate (in-process)


def _leaf(folder: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate((folder / tls.CERT_FILE).read_bytes())


def test_the_first_use_makes_a_ca_and_a_certificate_for_the_loopback_names(tmp_path: Path) -> None:
    folder = tmp_path / "made" / "here"
    made = tls.local_certificate(folder)
    assert made.ca_file == folder / "ca.pem"
    assert made.names == ("localhost", "127.0.0.1", "::1")
    assert [line.split(" in ")[0] for line in made.made] == ["made a local CA", "made a certificate for localhost, "
                                                              "127.0.0.1, ::1"]
    assert (folder / tls.CA_KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert (folder / tls.KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert folder.stat().st_mode & 0o777 == 0o700
    ca = x509.load_pem_x509_certificate(made.ca_file.read_bytes())
    leaf = _leaf(folder)
    leaf.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    # what Python's default context checks (VERIFY_X509_STRICT on 3.13) passes: a handshake in memory
    context = ssl.create_default_context(cafile=made.ca_file)
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    _handshake(context, made.cert_file, made.key_file, "localhost")


def _handshake(client: ssl.SSLContext, cert: Path, key: Path, name: str) -> None:
    """A TLS handshake between ``client`` and a server context over memory BIOs; raises what the client raises."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    pipes = [ssl.MemoryBIO() for _ in range(4)]
    client_side = client.wrap_bio(pipes[0], pipes[1], server_hostname=name)
    server_side = server.wrap_bio(pipes[2], pipes[3], server_side=True)
    for _ in range(10):
        for side, outgoing, incoming in ((client_side, pipes[1], pipes[2]), (server_side, pipes[3], pipes[0])):
            try:
                side.do_handshake()
            except ssl.SSLWantReadError:
                pass
            incoming.write(outgoing.read())
    client_side.do_handshake()


def test_the_ca_and_the_certificate_are_reused(tmp_path: Path) -> None:
    first = tls.local_certificate(tmp_path)
    ca, leaf = tls.fingerprint(tmp_path / "ca.pem"), tls.fingerprint(tmp_path / tls.CERT_FILE)
    again = tls.local_certificate(tmp_path)
    assert again.made == []
    assert (tls.fingerprint(tmp_path / "ca.pem"), tls.fingerprint(tmp_path / tls.CERT_FILE)) == (ca, leaf)
    assert again.expires == first.expires


def test_a_certificate_is_made_again_when_missing_near_its_end_or_missing_a_name(tmp_path: Path) -> None:
    tls.local_certificate(tmp_path)
    ca = tls.fingerprint(tmp_path / "ca.pem")
    (tmp_path / tls.CERT_FILE).unlink()
    assert [line.split(" for ")[0] for line in tls.local_certificate(tmp_path).made] == ["made a certificate"]
    leaf = tls.fingerprint(tmp_path / tls.CERT_FILE)

    later = datetime.now(UTC) + tls.CERT_LIFETIME - timedelta(days=1)  # within RENEW_BEFORE of its end
    assert len(tls.local_certificate(tmp_path, now=later).made) == 1
    assert tls.fingerprint(tmp_path / tls.CERT_FILE) != leaf
    assert tls.fingerprint(tmp_path / "ca.pem") == ca  # the CA is kept

    another = tls.local_certificate(tmp_path, hosts=["192.0.2.7"], now=later)
    assert another.names == ("localhost", "127.0.0.1", "::1", "192.0.2.7")
    assert tls.local_certificate(tmp_path, hosts=["127.0.0.1"], now=later).made == []  # no taking turns
    assert tls.fingerprint(tmp_path / "ca.pem") == ca


def test_a_certificate_from_another_ca_is_made_again(tmp_path: Path) -> None:
    tls.local_certificate(tmp_path)
    for name in ("ca.pem", "ca-key.pem"):  # as if the user deleted the CA to get a new one
        (tmp_path / name).unlink()
    made = tls.local_certificate(tmp_path)
    assert len(made.made) == 2
    _leaf(tmp_path).verify_directly_issued_by(x509.load_pem_x509_certificate((tmp_path / "ca.pem").read_bytes()))


def test_a_damaged_ca_is_one_line_naming_what_to_do(tmp_path: Path) -> None:
    tls.local_certificate(tmp_path)
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    with pytest.raises(TlsError) as caught:
        tls.local_certificate(tmp_path)
    assert str(caught.value) == (f"{tmp_path}: ca.pem or ca-key.pem is not a readable CA; delete both to make a "
                                 "new one (clients must then trust the new one)")


def test_the_data_folder_follows_each_platforms_convention() -> None:
    home = {"HOME": "/home/ada"}
    assert tls.data_folder(home, "linux") == Path("/home/ada/.local/share/mocksrv/tls")
    assert tls.data_folder({**home, "XDG_DATA_HOME": "/data"}, "linux") == Path("/data/mocksrv/tls")
    assert tls.data_folder({**home, "XDG_DATA_HOME": "rel"}, "linux") == Path("/home/ada/.local/share/mocksrv/tls")
    assert tls.data_folder(home, "darwin") == Path("/home/ada/Library/Application Support/mocksrv/tls")
    assert tls.data_folder({**home, "LOCALAPPDATA": "C:/Users/ada/AppData/Local"}, "win32") == Path(
        "C:/Users/ada/AppData/Local/mocksrv/tls")


@pytest.fixture(scope="module")
def other_ca() -> trustme.CA:
    return trustme.CA()


def _pair(folder: Path, leaf: trustme.LeafCert) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    return cert, key


def test_own_certificate_problems_are_one_line_each(tmp_path: Path, other_ca: trustme.CA,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime.now(UTC)
    cert, key = _pair(tmp_path, other_ca.issue_cert("localhost"))
    assert tls.own_certificate(cert, key).names == ("localhost",)

    def refusal(cert_file: Path, key_file: Path) -> str:
        with pytest.raises(TlsError) as caught:
            tls.own_certificate(cert_file, key_file)
        assert "\n" not in str(caught.value)
        return str(caught.value)

    assert refusal(tmp_path / "none.pem", key) == f"{tmp_path / 'none.pem'}: no such file"
    assert refusal(cert, tmp_path) == f"{tmp_path}: a folder, not a file"
    assert refusal(key, key) == f"{key}: not a PEM certificate (-----BEGIN CERTIFICATE-----)"
    assert refusal(cert, cert) == f"{cert}: not a PEM private key (-----BEGIN PRIVATE KEY-----)"
    (tmp_path / "other").mkdir()
    _, other_key = _pair(tmp_path / "other", other_ca.issue_cert("localhost"))
    assert refusal(cert, other_key) == f"{other_key}: this key does not belong to the certificate in {cert}"
    expired = other_ca.issue_cert("localhost", not_before=now - timedelta(days=30), not_after=now - timedelta(days=1))
    (tmp_path / "old").mkdir()
    old_cert, old_key = _pair(tmp_path / "old", expired)
    assert refusal(old_cert, old_key).startswith(f"{old_cert}: the certificate expired on ")

    original = Path.read_bytes

    def unreadable(path: Path) -> bytes:  # the suite may run as root, who reads any file: the OS's answer, faked
        if path == key:
            raise PermissionError(13, "Permission denied", str(path))
        return original(path)

    monkeypatch.setattr(Path, "read_bytes", unreadable)
    assert refusal(cert, key) == f"{key}: cannot read it: Permission denied"


def test_an_encrypted_key_is_refused_in_one_line(tmp_path: Path, other_ca: trustme.CA) -> None:
    cert, key = _pair(tmp_path, other_ca.issue_cert("localhost"))
    plain = serialization.load_pem_private_key(key.read_bytes(), password=None)
    key.write_bytes(plain.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.BestAvailableEncryption(b"secret")))
    with pytest.raises(TlsError, match="the key is encrypted; mocksrv needs it without a passphrase"):
        tls.own_certificate(cert, key)


# -- a real server over HTTPS


def _ca_line(server: MockServerProcess) -> str:
    return next(line for line in server.lines if "signed by the local CA" in line)


def test_tls_serves_https_that_requests_trusts_with_the_printed_ca_and_refuses_without(tls_home: Path) -> None:
    server = MockServer("--specs", MAILDIVER, "--tls")
    try:
        assert server.base_url.startswith("https://127.0.0.1:")
        assert server.ca_file == str(tls_home / "ca.pem")
        assert _ca_line(server) == (f"mocksrv: HTTPS certificate for localhost, 127.0.0.1, ::1, signed by the local "
                                    f"CA {tls_home / 'ca.pem'}")
        ca = str(tls_home / "ca.pem")
        assert f"mocksrv:   export SSL_CERT_FILE={ca} REQUESTS_CA_BUNDLE={ca} NODE_EXTRA_CA_CERTS={ca} " \
               f"CURL_CA_BUNDLE={ca}" in server.lines
        assert any(line.startswith(f"mocksrv: serving 1 API on {server.base_url} (console: {server.base_url}/")
                   for line in server.lines)

        sent = requests.post(server.url("/maildiver/v1/emails"), json=SEND, headers=KEY, verify=ca, timeout=10)
        assert sent.status_code == 201, sent.text
        apis = requests.get(server.url("/__mocksrv/apis"), verify=ca, timeout=10).json()["apis"]
        assert apis[0]["base_url"] == server.base_url + "/maildiver/v1"
        localhost = server.base_url.replace("127.0.0.1", "localhost")
        assert requests.get(localhost + "/__mocksrv/health", verify=ca, timeout=10).status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(server.url("/__mocksrv/health"), timeout=10)  # the system's trust alone: refused
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(server.url("/__mocksrv/health"), verify=_other_ca_file(tls_home.parent), timeout=10)
        with pytest.raises(requests.exceptions.ConnectionError):  # and it speaks no plain HTTP on that port
            requests.get(server.url("/__mocksrv/health").replace("https://", "http://"), timeout=10)

        # the admin client of MockServerProcess trusts the CA it was told of
        assert server.client.health()["status"] == "ok"
        # a client limited to TLS 1.2 (older runtimes) is served too
        old = ssl.create_default_context(cafile=ca)
        old.maximum_version = ssl.TLSVersion.TLSv1_2
        with urllib.request.urlopen(server.url("/__mocksrv/health"), context=old, timeout=10) as answer:
            assert answer.status == 200
    finally:
        server.stop()


def _other_ca_file(folder: Path) -> str:
    path = folder / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


@pytest.mark.skipif(CURL is None, reason="needs curl (.ci/run installs it)")
def test_curl_reaches_tls_with_the_printed_ca_and_fails_without(tls_home: Path) -> None:
    server = MockServer("--specs", MAILDIVER, "--tls")
    try:
        ca = str(tls_home / "ca.pem")
        url = server.url("/maildiver/v1/emails")
        command = [str(CURL), "-sS", url, "-H", "Authorization: Bearer md_demo", "-H", "Content-Type: application/json",
                   "-d", '{"from":"a@example.com","to":"b@example.com","subject":"Hi","html":"<p>x</p>"}',
                   "-o", "/dev/null", "-w", "%{http_code}"]
        plain = {key: value for key, value in os.environ.items() if key not in tls.CA_VARIABLES}
        with_flag = subprocess.run([*command, "--cacert", ca], capture_output=True, text=True, timeout=30, env=plain)
        assert (with_flag.returncode, with_flag.stdout) == (0, "201"), with_flag.stderr
        # the variable the server printed, as a user pastes it
        with_variable = subprocess.run(command, capture_output=True, text=True, timeout=30,
                                       env={**plain, "CURL_CA_BUNDLE": ca})
        assert (with_variable.returncode, with_variable.stdout) == (0, "201"), with_variable.stderr
        without = subprocess.run(command, capture_output=True, text=True, timeout=30, env=plain)
        assert without.returncode == 60, without.stderr  # curl: "SSL certificate problem"
        assert "certificate" in without.stderr
        # curl speaks HTTP/2 over TLS, where the host travels as :authority: the admin API still sees it
        localhost = server.url("/__mocksrv/apis").replace("127.0.0.1", "localhost")
        apis = subprocess.run([str(CURL), "-sS", "--cacert", ca, "-w", "\n%{http_version}", localhost],
                              capture_output=True, text=True, timeout=30, env=plain)
        body, version = apis.stdout.rsplit("\n", 1)
        assert version == "2", apis.stdout
        assert json.loads(body)["apis"][0]["base_url"].startswith("https://localhost:")
    finally:
        server.stop()


def test_the_ca_is_reused_across_restarts(tmp_path: Path) -> None:
    folder = tmp_path / "ca-home"
    prints = []
    for _ in range(2):
        server = MockServer("--specs", MAILDIVER, "--tls", "--tls-dir", str(folder))
        try:
            assert server.client.health()["status"] == "ok"
            prints.append((tls.fingerprint(folder / "ca.pem"), tls.fingerprint(folder / tls.CERT_FILE)))
            made = [line for line in server.lines if line.startswith("mocksrv: made ")]
        finally:
            server.stop()
        if len(prints) == 1:
            assert len(made) == 2  # the first start makes both
        else:
            assert made == []  # the second makes nothing: the CA a client trusts stays the same
    assert prints[0] == prints[1]


def test_tls_port_serves_http_and_https_side_by_side_on_one_state(tls_home: Path) -> None:
    server = MockServer("--specs", MAILDIVER, "--tls-port", "0")
    try:
        ca = str(tls_home / "ca.pem")
        serving = next(line for line in server.lines if "serving 1 API on" in line)
        http_url = server.base_url
        assert http_url.startswith("http://127.0.0.1:")
        https_url = serving.split(" and ")[1].split(" ")[0]
        assert https_url.startswith("https://127.0.0.1:") and https_url.rsplit(":", 1)[1] != http_url.rsplit(":", 1)[1]
        over_http = requests.post(http_url + "/maildiver/v1/emails", json=SEND, headers=KEY, timeout=10)
        over_https = requests.post(https_url + "/maildiver/v1/emails", json=SEND, headers=KEY, verify=ca, timeout=10)
        assert (over_http.status_code, over_https.status_code) == (201, 201)
        # one app behind both: each port sees what the other stored
        journal = requests.get(https_url + "/__mocksrv/requests", params={"api": "maildiver"}, verify=ca,
                               timeout=10).json()["requests"]
        assert len(journal) == 2
        assert requests.get(http_url + "/__mocksrv/requests", params={"api": "maildiver"},
                            timeout=10).json()["requests"] == journal
    finally:
        server.stop()
    assert server.process is not None and server.process.returncode == 0  # both stopped cleanly on SIGTERM


def test_own_certificate_is_served(tmp_path: Path, other_ca: trustme.CA) -> None:
    cert, key = _pair(tmp_path, other_ca.issue_cert("localhost", "127.0.0.1"))
    ca = tmp_path / "their-ca.pem"
    other_ca.cert_pem.write_to_path(str(ca))
    server = MockServer("--specs", MAILDIVER, "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        assert server.base_url.startswith("https://")
        assert server.ca_file is None  # not ours to tell
        assert f"mocksrv: HTTPS certificate {cert} (for localhost, 127.0.0.1; your own)" in server.lines
        assert requests.get(server.url("/__mocksrv/health"), verify=str(ca), timeout=10).status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(server.url("/__mocksrv/health"), verify=_other_ca_file(tmp_path), timeout=10)
    finally:
        server.stop()


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mocksrv", "serve", "--port", "0", "--specs", MAILDIVER, *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


def _refusal(*args: str) -> str:
    run = _serve(*args)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


def test_a_missing_expired_or_mismatched_file_is_one_line_before_listening(tmp_path: Path,
                                                                           other_ca: trustme.CA) -> None:
    cert, key = _pair(tmp_path, other_ca.issue_cert("localhost"))
    missing = tmp_path / "nowhere.pem"
    assert _refusal("--tls-cert", str(missing), "--tls-key", str(key)) == (
        f"mocksrv: cannot serve HTTPS: {missing}: no such file")
    assert _refusal("--tls-cert", str(cert), "--tls-key", str(missing)) == (
        f"mocksrv: cannot serve HTTPS: {missing}: no such file")
    (tmp_path / "old").mkdir()
    old_cert, old_key = _pair(tmp_path / "old", other_ca.issue_cert(
        "localhost", not_before=datetime(2025, 1, 1, tzinfo=UTC), not_after=datetime(2026, 1, 2, 3, 4, tzinfo=UTC)))
    assert _refusal("--tls-cert", str(old_cert), "--tls-key", str(old_key)) == (
        f"mocksrv: cannot serve HTTPS: {old_cert}: the certificate expired on 2026-01-02 03:04 UTC")
    assert _refusal("--tls-cert", str(cert), "--tls-key", str(old_key)) == (
        f"mocksrv: cannot serve HTTPS: {old_key}: this key does not belong to the certificate in {cert}")
    assert _refusal("--tls-cert", str(cert)) == "mocksrv: --tls-cert and --tls-key go together: give both"
    assert _refusal("--tls", "--tls-port", "0") == (
        "mocksrv: --tls makes --port HTTPS; --tls-port adds HTTPS next to an HTTP --port: give one of them")
    assert _refusal("--port", "4443", "--tls-port", "4443") == "mocksrv: --tls-port must differ from --port (4443)"
    assert _refusal("--tls-port", "70000") == (
        "mocksrv: --tls-port must be between 0 and 65535 (0 picks a free port); got 70000")


def test_a_ca_folder_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert _refusal("--tls", "--tls-dir", str(blocker / "tls")) == (
        f"mocksrv: cannot serve HTTPS: {blocker / 'tls'}: Not a directory")


# -- the pytest plugin


def test_the_pytest_plugin_serves_https_and_hands_the_test_the_ca(tmp_path: Path, tls_home: Path) -> None:
    (tmp_path / "pytest.ini").write_text(textwrap.dedent(f"""\
        [pytest]
        mocksrv_specs = {MAILDIVER}
        mocksrv_tls = true
        """))
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(f"""\
        import requests


        def test_over_https(mocksrv):
            assert mocksrv.url.startswith("https://127.0.0.1:")
            assert mocksrv.ca_file == {str(tls_home / "ca.pem")!r}
            sent = requests.post(mocksrv.base_url("maildiver") + "/emails", json={SEND!r},
                                 headers={{"Authorization": "Bearer k"}}, verify=mocksrv.ca_file, timeout=10)
            assert sent.status_code == 201
            assert len(mocksrv.requests(api="maildiver")) == 1


        def test_reset_over_https(mocksrv):
            assert mocksrv.requests() == []
        """))
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout


def test_a_certificate_naming_an_address_as_dns_is_made_again(tmp_path: Path) -> None:
    """Clients match 127.0.0.1 only against an IP entry: a kept certificate with it as a DNS name is useless."""
    tls.local_certificate(tmp_path)
    ca = x509.load_pem_x509_certificate((tmp_path / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((tmp_path / "ca-key.pem").read_bytes(), password=None)
    leaf = _leaf(tmp_path)
    wrong = (x509.CertificateBuilder().subject_name(leaf.subject).issuer_name(ca.subject)
             .public_key(leaf.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(leaf.not_valid_before_utc).not_valid_after(leaf.not_valid_after_utc)
             .add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in tls.LOOPBACK_NAMES]),
                            critical=False)
             .sign(ca_key, leaf.signature_hash_algorithm))  # type: ignore[arg-type]
    (tmp_path / tls.CERT_FILE).write_bytes(wrong.public_bytes(serialization.Encoding.PEM))
    assert len(tls.local_certificate(tmp_path).made) == 1
    assert x509.IPAddress(ipaddress.ip_address("127.0.0.1")) in _leaf(tmp_path).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
