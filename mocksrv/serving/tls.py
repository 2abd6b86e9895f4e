"""HTTPS for `mocksrv serve`: a local CA and the certificate it signs for this machine's loopback names,
made on first use and kept in the user's data folder; or a certificate and key the user brings, checked
before anything listens.

The CA is made once and reused across restarts (a client told to trust it once keeps trusting it); the
certificate is made again when it is missing, about to expire, not signed by that CA or not naming every
host asked for. Every problem is a `TlsError` whose text is one line::

    certificate = local_certificate(data_folder(), hosts=["127.0.0.1"])
    certificate.ca_file       # give this to clients: SSL_CERT_FILE, NODE_EXTRA_CA_CERTS, curl --cacert …
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import sys
import typing as t
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.oid import NameOID

from mocksrv.errors import TlsError

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from collections.abc import Mapping
    from collections.abc import Sequence

    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

# what a client on this machine calls the server by; --host adds its own name or address
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
# hosts that mean "every interface": no client connects by them, so no certificate names them
WILDCARDS = ("", "0.0.0.0", "::")  # noqa: S104 (names compared, nothing bound)
CA_FILE, CA_KEY_FILE = "ca.pem", "ca-key.pem"
CERT_FILE, KEY_FILE = "localhost.pem", "localhost-key.pem"
CA_LIFETIME = timedelta(days=3650)
# Apple's clients refuse server certificates valid longer than 825 days even from a local CA
CERT_LIFETIME = timedelta(days=365)
# a certificate this close to its end is made again, so a server started now does not outlive it soon
RENEW_BEFORE = timedelta(days=7)
BACKDATE = timedelta(hours=1)  # clients whose clock is a little behind still accept a fresh certificate
# the variables most clients read for extra trust: Python's ssl and requests, Node.js, curl
CA_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "CURL_CA_BUNDLE")


@dataclass(frozen=True)
class Certificate:
    """The files granian serves, and the CA file a client must trust (None for a certificate the user brought)."""

    cert_file: Path
    key_file: Path
    ca_file: Path | None = None
    names: tuple[str, ...] = ()
    expires: datetime | None = None
    made: list[str] = field(default_factory=list)  # what this start had to make, one line each


def data_folder(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> Path:
    """Where the local CA is kept unless ``--tls-dir`` says otherwise: ``mocksrv/tls`` in the user's data folder.

    Linux and the BSDs: ``$XDG_DATA_HOME`` (when absolute, as the XDG spec asks), else ``~/.local/share``;
    macOS: ``~/Library/Application Support``; Windows: ``%LOCALAPPDATA%``.
    """
    home = Path(environ.get("HOME") or Path.home())
    if platform == "win32":
        base = Path(environ["LOCALAPPDATA"]) if environ.get("LOCALAPPDATA") else home / "AppData" / "Local"
    elif platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        xdg = environ.get("XDG_DATA_HOME", "")
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".local" / "share"
    return base / "mocksrv" / "tls"


def names_for(host: str) -> tuple[str, ...]:
    """The names the certificate must carry for a server bound to ``host``."""
    host = host.strip("[]")
    if host in WILDCARDS or host in LOOPBACK_NAMES:
        return LOOPBACK_NAMES
    return (*LOOPBACK_NAMES, host)


def local_certificate(folder: Path, hosts: Sequence[str] = ("127.0.0.1",), now: datetime | None = None) -> Certificate:
    """The certificate for ``hosts`` signed by the local CA in ``folder``; either is made when it must be.

    :raise TlsError: the folder cannot be made or written, or a CA file is there but is not one.
    """
    now = now or datetime.now(UTC)
    names = tuple(dict.fromkeys(name for host in hosts for name in names_for(host)))
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _locked(folder):
            made: list[str] = []
            ca_cert, ca_key = _ca(folder, now, made)
            cert = _leaf(folder, ca_cert, ca_key, names, now, made)
    except OSError as error:
        raise TlsError(str(error.filename or folder), error.strerror or str(error)) from error
    return Certificate(folder / CERT_FILE, folder / KEY_FILE, folder / CA_FILE, _names(cert),
                       cert.not_valid_after_utc, made)


def own_certificate(cert_file: Path, key_file: Path, now: datetime | None = None) -> Certificate:
    """The user's certificate and key, checked as a client would find them, before granian is given them.

    :raise TlsError: a file is missing or unreadable, not PEM, encrypted, out of its validity, or the key is
        not the certificate's.
    """
    now = now or datetime.now(UTC)
    cert_text, key_text = _read(cert_file), _read(key_file)
    try:
        chain = x509.load_pem_x509_certificates(cert_text)
    except ValueError:
        raise TlsError(str(cert_file), "not a PEM certificate (-----BEGIN CERTIFICATE-----)") from None
    cert = chain[0]
    if cert.not_valid_after_utc <= now:
        raise TlsError(str(cert_file), f"the certificate expired on {_day(cert.not_valid_after_utc)}")
    if cert.not_valid_before_utc > now:
        raise TlsError(str(cert_file), f"the certificate is not valid before {_day(cert.not_valid_before_utc)}")
    try:
        key = serialization.load_pem_private_key(key_text, password=None)
    except TypeError:
        raise TlsError(str(key_file), "the key is encrypted; mocksrv needs it without a passphrase") from None
    except ValueError:
        raise TlsError(str(key_file), "not a PEM private key (-----BEGIN PRIVATE KEY-----)") from None
    if not _same_key(key, cert):
        raise TlsError(str(key_file), f"this key does not belong to the certificate in {cert_file}")
    return Certificate(cert_file, key_file, None, _names(cert), cert.not_valid_after_utc)


def fingerprint(cert_file: Path) -> str:
    """The SHA-256 fingerprint of a PEM certificate, as ``AB:CD:…``."""
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


# -- the local CA and its certificate


def _ca(folder: Path, now: datetime, made: list[str]) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The CA kept in ``folder``, or a new one when there is none (or it expired)."""
    cert_path, key_path = folder / CA_FILE, folder / CA_KEY_FILE
    if cert_path.exists() and key_path.exists():
        try:
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        except (ValueError, TypeError):
            raise TlsError(str(folder), f"{CA_FILE} or {CA_KEY_FILE} is not a readable CA; delete both to make "
                                        "a new one (clients must then trust the new one)") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not _same_key(key, cert):
            raise TlsError(str(key_path), f"this key does not belong to {cert_path}; delete both to make a new CA")
        if os.name == "posix":
            key_path.chmod(0o600)  # a copy or an unpack may have widened it
        if cert.not_valid_after_utc > now + RENEW_BEFORE:
            return cert, key
        made.append(f"the local CA in {cert_path} expired on {_day(cert.not_valid_after_utc)}; made a new one "
                    "(clients must trust it anew)")
    else:
        made.append(f"made a local CA in {cert_path}; it is kept and reused from now on")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mocksrv"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"mocksrv local CA ({socket.gethostname()[:40]})")])
    public = key.public_key()
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE).not_valid_after(now + CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False),
                           critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(key, hashes.SHA256()))
    _write(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()), secret=True)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _leaf(folder: Path, ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, names: tuple[str, ...],
          now: datetime, made: list[str]) -> x509.Certificate:
    """The certificate kept in ``folder`` if it still serves, else a new one signed by the CA."""
    cert_path, key_path = folder / CERT_FILE, folder / KEY_FILE
    kept = _usable_leaf(cert_path, key_path, ca_cert, now)
    if kept is not None and _covers(kept, names):
        if os.name == "posix":
            key_path.chmod(0o600)
        return kept
    if kept is not None:  # a name is missing: the new one names the old ones too, so hosts do not take turns
        names = tuple(dict.fromkeys((*names, *_names(kept))))
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    ca_identifier = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mocksrv"),
                                     x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_cert.subject).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(min(now + CERT_LIFETIME, ca_cert.not_valid_after_utc))
            .add_extension(x509.SubjectAlternativeName([_general_name(name) for name in names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, key_cert_sign=False,
                                         crl_sign=False, content_commitment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False),
                           critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_identifier),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    _write(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()), secret=True)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    made.append(f"made a certificate for {', '.join(names)} in {cert_path}, "
                f"valid until {_day(cert.not_valid_after_utc)}")
    return cert


def _usable_leaf(cert_path: Path, key_path: Path, ca_cert: x509.Certificate, now: datetime) -> x509.Certificate | None:
    """The kept certificate if it is whole, signed by this CA, its key's and not near its end; else None."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        cert.verify_directly_issued_by(ca_cert)
    except (OSError, ValueError, TypeError, InvalidSignature):  # missing, damaged, or another CA's: make anew
        return None
    if not _same_key(key, cert) or not cert.not_valid_before_utc <= now < cert.not_valid_after_utc - RENEW_BEFORE:
        return None
    return cert


# -- helpers


def _names(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        alternatives = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    dns = alternatives.get_values_for_type(x509.DNSName)
    return (*dns, *(str(address) for address in alternatives.get_values_for_type(x509.IPAddress)))


def _covers(cert: x509.Certificate, names: Sequence[str]) -> bool:
    """Whether the certificate names each of ``names`` as a client checks it (an address as an IP, not as DNS)."""
    try:
        alternatives = set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return False
    return all(_general_name(name) in alternatives for name in names)


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _same_key(key: PrivateKeyTypes, cert: x509.Certificate) -> bool:
    encoding, form = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return bool(key.public_key().public_bytes(encoding, form) == cert.public_key().public_bytes(encoding, form))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise TlsError(str(path), "no such file") from None
    except IsADirectoryError:
        raise TlsError(str(path), "a folder, not a file") from None
    except OSError as error:
        raise TlsError(str(path), f"cannot read it: {error.strerror or error}") from None


def _write(path: Path, data: bytes, secret: bool = False) -> None:
    """Write whole or not at all (a reader never sees half a key); a secret is readable by its owner only."""
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One process at a time makes or renews the files (two servers started at once share one CA)."""
    try:
        import fcntl
    except ImportError:  # Windows: writes are still atomic, two first starts at once may each make a CA
        yield
        return
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
