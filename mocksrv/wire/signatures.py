"""Standard Webhooks signatures (https://www.standardwebhooks.com): the headers a webhook
carries so its receiver can tell who sent it, and that nobody replayed or changed it.

- ``webhook-id``: the message's id, the same on every retry of it (receivers drop duplicates by it);
- ``webhook-timestamp``: when this attempt was signed, in whole seconds since the epoch;
- ``webhook-signature``: ``v1,`` and the base64 of HMAC-SHA256 over ``{id}.{timestamp}.{body}``
  under the secret's key.

A secret is written ``whsec_`` and the base64 of its key, as providers hand them out (Svix,
Resend, Clerk …); the prefix is optional, as in the reference libraries. Any receiver that
uses an off-the-shelf verifier (the ``standardwebhooks`` package, Svix's SDKs) accepts these.

A provider with a scheme of its own (GitHub's ``X-Hub-Signature-256: sha256=<hex>``, Stripe's
``Stripe-Signature: t=…,v1=…``, Shopify's base64 HMAC …) is a `VendorScheme`: one header, an
HMAC over a template of the id, the timestamp and the body, keyed by the secret's text as it is
written (those providers key with the secret string itself).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix secrets are written with, no secret)
KEY_BYTES = 24  # what new secrets hold (192 bits; the reference libraries make 24 too)


class BadSecret(ValueError):
    """A webhook secret that is not ``whsec_`` and base64."""


def signing_key(secret: str) -> bytes:
    """The HMAC key a secret stands for.

    :raise BadSecret: not base64 after the optional ``whsec_``, or an empty key.
    """
    text = secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadSecret("a webhook secret is 'whsec_' followed by base64 (e.g. whsec_MfKQ9r8GKYqrTwjU…)") from None
    if not key:
        raise BadSecret("a webhook secret needs a key after 'whsec_'")
    return key


def new_secret() -> str:
    """A fresh secret, for a subscription that names none."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` and the base64 HMAC-SHA256 of ``id.timestamp.body``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of one delivery attempt."""
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secret, message_id, timestamp, body)}


@dataclass(frozen=True)
class VendorScheme:
    """A provider's own HMAC signature header (docs/webhooks.md, "Signatures")."""

    header: str  # e.g. X-Hub-Signature-256
    value: str = "{signature}"  # the header's text: {signature}, {timestamp}, {id}
    signed: str = "{body}"  # what the HMAC covers: {body}, {timestamp}, {id}
    algorithm: str = "sha256"  # sha1, sha256 or sha512
    encoding: str = "hex"  # hex or base64


def vendor_headers(scheme: VendorScheme, secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The provider's signature header for one attempt, and ``webhook-id`` (the same on every retry)."""
    def filled(template: str) -> str:
        return template.replace("{id}", message_id).replace("{timestamp}", str(timestamp))

    signed = body.join(filled(part).encode() for part in scheme.signed.split("{body}"))
    digest = hmac.new(secret.encode(), signed, getattr(hashlib, scheme.algorithm)).digest()
    text = digest.hex() if scheme.encoding == "hex" else base64.b64encode(digest).decode()
    return {scheme.header: filled(scheme.value).replace("{signature}", text), "webhook-id": message_id}
