"""Standard Webhooks signatures (mocksrv/wire/signatures.py), checked by the reference verifier
a receiver would use: the ``standardwebhooks`` package."""

from __future__ import annotations

import json
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks import WebhookVerificationError

from mocksrv.wire.signatures import BadSecret
from mocksrv.wire.signatures import new_secret
from mocksrv.wire.signatures import signed_headers
from mocksrv.wire.signatures import signing_key

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the example secret of the Standard Webhooks spec
BODY = json.dumps({"type": "email.delivered", "data": {"email_id": "em_1", "metadata": {"order": "42"}}}).encode()


def test_the_reference_verifier_accepts_what_is_signed() -> None:
    now = int(time.time())
    headers = signed_headers(SECRET, "msg_2Lo9TDGUUc2pqPYMvp1pV1Hgd0V", now, BODY)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert Webhook(SECRET).verify(BODY, headers) == json.loads(BODY)
    # a secret written without its prefix is the same key
    assert Webhook(SECRET).verify(BODY, signed_headers(SECRET.removeprefix("whsec_"), "msg_1", now, BODY))


@pytest.mark.parametrize("change", ["body", "id", "timestamp", "secret"])
def test_the_reference_verifier_refuses_anything_changed(change: str) -> None:
    now = int(time.time())
    headers = signed_headers(new_secret() if change == "secret" else SECRET, "msg_1", now, BODY)
    body = BODY.replace(b"42", b"43") if change == "body" else BODY
    if change == "id":
        headers["webhook-id"] = "msg_2"
    if change == "timestamp":
        headers["webhook-timestamp"] = str(now - 1)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body, headers)


def test_a_signature_is_fixed_by_its_inputs_and_a_retry_keeps_its_id() -> None:
    first = signed_headers(SECRET, "msg_1", 1_700_000_000, BODY)
    assert signed_headers(SECRET, "msg_1", 1_700_000_000, BODY) == first
    retry = signed_headers(SECRET, "msg_1", 1_700_000_060, BODY)  # a retry a minute later: new time, same id
    assert retry["webhook-id"] == first["webhook-id"] and retry["webhook-signature"] != first["webhook-signature"]


def test_new_secrets_are_distinct_and_verifiable() -> None:
    made = {new_secret() for _ in range(20)}
    assert len(made) == 20 and all(secret.startswith("whsec_") and len(signing_key(secret)) == 24 for secret in made)
    secret = made.pop()
    now = int(time.time())
    assert Webhook(secret).verify(BODY, signed_headers(secret, "msg_9", now, BODY))


@pytest.mark.parametrize("secret", ["whsec_not base64!", "whsec_", ""])
def test_a_secret_that_is_not_base64_is_refused_in_one_line(secret: str) -> None:
    with pytest.raises(BadSecret) as refused:
        signing_key(secret)
    assert "\n" not in str(refused.value) and "whsec_" in str(refused.value)
