"""Standard Webhooks signatures (https://www.standardwebhooks.com): the headers a webhook
carries so its receiver can tell who sent it, and that nobody replayed or changed it.

- ``webhook-id``: the message's id, the same on every retry of it (receivers drop duplicates by it);
- ``webhook-timestamp``: when this attempt was signed, in whole seconds since the epoch;
- ``webhook-signature``: ``v1,`` and the base64 of HMAC-SHA256 over ``{id}.{timestamp}.{body}``
  under the secret's key.

A secret is written ``whsec_`` and the base64 of its key, as providers hand them out (Svix,
Resend, Clerk …); the prefix is optional, as in the reference libraries. Any receiver that
uses an off-the-shelf verifier (the ``standardwebhooks`` package, Svix's SDKs) accepts these.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

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
