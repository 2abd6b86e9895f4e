"""Read the credentials an operation's security requirements ask for, from the request.

Owns the meaning of each security scheme type: http bearer/basic (``Authorization``),
apiKey in header/query/cookie, oauth2 and openIdConnect as bearer tokens. Requirements
are alternatives (OR); the schemes inside one requirement are all needed (AND); an empty
requirement (``{}``) or ``security: []`` leaves the operation open. A request that meets
no requirement gets `Unauthorized` with a ``WWW-Authenticate`` challenge.
"""

from __future__ import annotations

import base64
import binascii
import typing as t
from dataclasses import dataclass

from mocksrv.errors import Unauthorized
from mocksrv.exchange import COMMON_CREDENTIAL_HEADERS
from mocksrv.exchange import CredentialNames
from mocksrv.exchange import MockRequest
from mocksrv.openapi.specs import ApiSpec
from mocksrv.openapi.specs import Operation


@dataclass(frozen=True)
class Credential:
    """One credential found in the request, for one security scheme."""

    scheme: str  # the scheme's name in components.securitySchemes
    kind: str  # bearer | basic | apiKey
    value: str  # the token, API key, or "user:password"


@dataclass(frozen=True)
class CredentialPlace:
    """Where a security scheme's credential travels in a request."""

    location: str  # header | query | cookie
    name: str  # the header, query parameter or cookie name
    prefix: str | None = None  # the Authorization scheme (bearer, basic …); None for a raw API key


def credential_place(scheme: dict[str, t.Any]) -> CredentialPlace | None:
    """The one reading of a Security Scheme Object's place (None: a type with no place in the request,
    such as mutualTLS, or an incomplete scheme)."""
    kind = str(scheme.get("type", "")).lower()
    if kind == "apikey":
        where, name = str(scheme.get("in", "")), str(scheme.get("name", ""))
        return CredentialPlace(where, name) if where in ("header", "query", "cookie") and name else None
    if kind == "http":
        return CredentialPlace("header", "Authorization", str(scheme.get("scheme", "")).lower())
    if kind in ("oauth2", "openidconnect"):
        return CredentialPlace("header", "Authorization", "bearer")
    return None


def place_credential(place: CredentialPlace, credential: str) -> tuple[str, str, str]:
    """(location, name, value) that carry ``credential`` (a token, a key, or "user:password" for basic)."""
    if place.prefix is None:
        return place.location, place.name, credential
    if place.prefix == "basic":
        credential = base64.b64encode(credential.encode()).decode()
    return place.location, place.name, f"{place.prefix.capitalize()} {credential}"


def _scheme_credential(name: str, scheme: dict[str, t.Any], request: MockRequest) -> Credential | None:
    place = credential_place(scheme)
    if place is None:
        return None
    carrier = request.headers if place.location == "header" else \
        request.query if place.location == "query" else request.cookies
    sent = carrier.get(place.name)
    if not sent:
        return None
    if place.prefix is None:
        return Credential(name, "apiKey", sent)
    prefix, _, rest = sent.partition(" ")
    rest = rest.strip()
    if prefix.lower() != place.prefix or not rest:
        return None
    if place.prefix == "basic":
        try:
            raw = base64.b64decode(rest, validate=True)
        except binascii.Error:
            return None
        # RFC 7617 leaves the charset open: UTF-8 when it is that, else each octet as itself (Latin-1)
        try:
            rest = raw.decode("utf-8")
        except UnicodeDecodeError:
            rest = raw.decode("latin-1")
        if ":" not in rest:
            return None
    kind = str(scheme.get("type", "")).lower()
    return Credential(name, place.prefix if place.prefix in ("bearer", "basic") else kind, rest)


def credential_names(apis: t.Iterable[ApiSpec]) -> CredentialNames:
    """Every header, query parameter and cookie that any loaded spec's security schemes name, so
    they can be masked wherever requests are shown (one set for all APIs: a request that matches
    no API is masked too, and a name that is a secret in one API is hidden in all of them)."""
    found: dict[str, set[str]] = {"header": set(COMMON_CREDENTIAL_HEADERS), "query": set(), "cookie": set()}
    for api in apis:
        for scheme in api.security_schemes.values():
            place = credential_place(scheme)
            if place is not None:
                found[place.location].add(place.name.lower() if place.location == "header" else place.name)
    return CredentialNames(frozenset(found["header"]), frozenset(found["query"]), frozenset(found["cookie"]))


def _challenge(schemes: dict[str, t.Any], names: t.Iterable[str]) -> str:
    challenges: list[str] = []
    for name in names:
        scheme = schemes.get(name) or {}
        kind = str(scheme.get("type", "")).lower()
        if kind == "http":
            challenges.append(f"{str(scheme.get('scheme', 'Bearer')).capitalize()} realm=\"mocksrv\"")
        elif kind in ("oauth2", "openidconnect"):
            challenges.append("Bearer realm=\"mocksrv\"")
        elif kind == "apikey":
            challenges.append(f"ApiKey realm=\"mocksrv\", in=\"{scheme.get('in')}\", name=\"{scheme.get('name')}\"")
    return ", ".join(dict.fromkeys(challenges))


def authenticate(api: ApiSpec, operation: Operation, request: MockRequest) -> list[Credential]:
    """Return the credentials of the first security requirement the request meets.

    :raise 401: the operation needs credentials and none of its requirements is met.
    """
    if not operation.security or any(not requirement for requirement in operation.security):
        return []
    schemes = api.security_schemes
    wanted: list[str] = []
    for requirement in operation.security:
        found = [_scheme_credential(name, schemes.get(name) or {}, request) for name in requirement]
        if all(found):
            return [credential for credential in found if credential is not None]
        wanted.extend(name for name in requirement if name not in wanted)
    described = " or ".join(" and ".join(_describe(n, schemes.get(n) or {}) for n in r) for r in operation.security)
    raise Unauthorized(
        f"missing credentials: send {described}",
        headers={"WWW-Authenticate": _challenge(schemes, wanted)},
        kind="missing_credentials",
    )


def _describe(name: str, scheme: dict[str, t.Any]) -> str:
    kind = str(scheme.get("type", "")).lower()
    if kind == "apikey":
        return f"the API key {scheme.get('name')!r} in the {scheme.get('in')}"
    if kind == "http" and scheme.get("scheme"):  # Basic, Bearer, Digest …: the scheme the spec names
        return f"an 'Authorization: {str(scheme['scheme']).capitalize()} …' header"
    return "an 'Authorization: Bearer …' header"
