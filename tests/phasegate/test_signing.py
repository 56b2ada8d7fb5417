"""Standard Webhooks signatures: the signed content, rotation, and what verify refuses."""

import json
import time
from datetime import UTC, datetime

import openai
import pytest
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook

from phasegate.signing import (
    ID_HEADER,
    MAX_SIGNATURES,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Authenticator,
    SignatureError,
    new_secret,
    sign,
    signed_headers,
    signed_request,
    verify,
)
from state.domain import Delivery
from state.settings import webhook_key

SECRET = "whsec_dGVzdC1zZWNyZXQtb2YtdGhpcnR5LXR3by1ieXRlcw=="
KEY = b"test-secret-of-thirty-two-bytes"
NEW = new_secret()
NOW = 1_700_000_000
BODY = b'{"reason":"nightly"}'
# printf '%s' 'msg_1.1700000000.{"reason":"nightly"}' \
#   | openssl dgst -sha256 -mac HMAC -macopt hexkey:$(printf '%s' "$KEY" | xxd -p) -binary | base64
OPENSSL = "v1,w4DxsinToT118xZe6nAG1xMuKeBv77EBl7WSJ8BDkOk="
GOOD = {ID_HEADER: "msg_1", TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: OPENSSL}


def _code(headers: dict[str, str], payload: bytes = BODY, keys: tuple[bytes, ...] = (KEY,)) -> str:
    with pytest.raises(SignatureError) as caught:
        verify(keys, headers, payload, now=NOW)
    return caught.value.code


def test_webhook_key_decodes_a_whsec_secret() -> None:
    assert webhook_key(SECRET) == KEY


@pytest.mark.parametrize(
    "secret", ["test-secret", "whsec_", "whsec_not base64!", "whsec_c2hvcnQ=", "whsec_" + "A" * 100]
)
def test_webhook_key_refuses_a_malformed_secret_without_quoting_it(secret: str) -> None:
    with pytest.raises(ValueError) as caught:
        webhook_key(secret)
    assert str(caught.value) == "must be whsec_ followed by 24 to 64 bytes in base64"


def test_sign_matches_openssl() -> None:
    assert sign(KEY, "msg_1", NOW, BODY) == OPENSSL


def test_signed_headers_carry_id_timestamp_and_signature() -> None:
    headers = signed_headers(SECRET, BODY, webhook_id="msg_1", now=NOW + 0.7)
    assert headers == GOOD


def test_signed_headers_of_two_secrets_carry_two_signatures() -> None:
    headers = signed_headers([SECRET, NEW], BODY, webhook_id="msg_1", now=NOW)
    old, new = headers[SIGNATURE_HEADER].split(" ")
    assert old == OPENSSL
    assert new == sign(webhook_key(NEW), "msg_1", NOW, BODY)


def test_signed_request_puts_the_target_in_a_post_body_and_signs_a_get_target() -> None:
    body, headers = signed_request(SECRET, "POST", "/v1/usecases/a/checks", {"reason": "r"})
    assert body == b'{"target": "POST /v1/usecases/a/checks", "reason": "r"}'
    assert verify([KEY], headers, body, now=time.time())[0] == headers[ID_HEADER]
    body, headers = signed_request(SECRET, "GET", "/v1/usecases/a/active")
    assert body == b""
    assert verify([KEY], headers, b"GET /v1/usecases/a/active", now=time.time())


def test_openai_sdk_verifies_our_signature() -> None:
    body, headers = signed_request(SECRET, "POST", "/v1/usecases/a/usage", {"counts": []})
    client = openai.OpenAI(api_key="unused", base_url="http://127.0.0.1:9/v1")
    client.webhooks.verify_signature(body, headers, secret=SECRET)
    with pytest.raises(openai.InvalidWebhookSignatureError):
        client.webhooks.verify_signature(body + b" ", headers, secret=SECRET)


def test_standardwebhooks_verifies_what_we_sign_and_signs_what_we_verify() -> None:
    body, headers = signed_request(SECRET, "POST", "/v1/usecases/a/usage", {"counts": []})
    assert Webhook(SECRET).verify(body, headers) == json.loads(body)
    now = datetime.now(UTC)
    theirs = {
        ID_HEADER: "msg_9",
        TIMESTAMP_HEADER: str(int(now.timestamp())),
        SIGNATURE_HEADER: Webhook(SECRET).sign("msg_9", now, body),
    }
    assert verify([KEY], theirs, body, now=time.time()) == ("msg_9", int(now.timestamp()))


def test_verify_returns_id_and_timestamp_of_a_good_signature() -> None:
    assert verify([KEY], GOOD, BODY, now=NOW + 10) == ("msg_1", NOW)


def test_verify_accepts_any_of_several_keys_and_signatures() -> None:
    both = signed_headers([NEW, SECRET], BODY, webhook_id="msg_1", now=NOW)
    assert verify([KEY], both, BODY, now=NOW) == ("msg_1", NOW)
    assert verify([webhook_key(NEW), KEY], GOOD, BODY, now=NOW) == ("msg_1", NOW)


@pytest.mark.parametrize("missing", [ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER])
def test_verify_missing_header_is_missing_signature(missing: str) -> None:
    assert _code({k: v for k, v in GOOD.items() if k != missing}) == "missing_signature"
    assert _code(GOOD | {missing: ""}) == "missing_signature"


@pytest.mark.parametrize("webhook_id", ["msg.1", "a b", "x" * 129, "é"])
def test_verify_malformed_id_is_bad_webhook_id(webhook_id: str) -> None:
    assert _code(GOOD | {ID_HEADER: webhook_id}) == "bad_webhook_id"


@pytest.mark.parametrize("timestamp", ["-5", "1.5e9", "17000000OO", "١٧٠٠٠٠٠٠٠٠", "9" * 13])
def test_verify_malformed_timestamp_is_bad_timestamp(timestamp: str) -> None:
    assert _code(GOOD | {TIMESTAMP_HEADER: timestamp}) == "bad_timestamp"


@pytest.mark.parametrize("offset", [-301, 301, -86_400])
def test_verify_outside_the_window_is_stale(offset: int) -> None:
    headers = signed_headers(SECRET, BODY, webhook_id="msg_1", now=NOW + offset)
    assert _code(headers) == "stale_timestamp"


@pytest.mark.parametrize("offset", [-300, 300])
def test_verify_at_the_edge_of_the_window_passes(offset: int) -> None:
    headers = signed_headers(SECRET, BODY, webhook_id="msg_1", now=NOW + offset)
    assert verify([KEY], headers, BODY, now=NOW) == ("msg_1", NOW + offset)


@pytest.mark.parametrize(
    "changes",
    [
        {SIGNATURE_HEADER: sign(webhook_key(NEW), "msg_1", NOW, BODY)},
        {SIGNATURE_HEADER: sign(KEY, "msg_1", NOW, BODY + b" ")},
        {SIGNATURE_HEADER: sign(KEY, "msg_1", NOW + 1, BODY)},
        {ID_HEADER: "msg_2"},
        {SIGNATURE_HEADER: OPENSSL.removeprefix("v1,")},
        {SIGNATURE_HEADER: "v1a," + OPENSSL.removeprefix("v1,")},
        {SIGNATURE_HEADER: OPENSSL.lower()},
        {SIGNATURE_HEADER: "v1,"},
    ],
    ids=[
        "other secret",
        "other body",
        "other timestamp",
        "other id",
        "no version",
        "other version",
        "case changed",
        "empty",
    ],
)
def test_verify_wrong_signature_is_bad_signature(changes: dict[str, str]) -> None:
    assert _code(GOOD | changes) == "bad_signature"


def test_verify_refuses_more_signatures_than_the_bound() -> None:
    many = " ".join([OPENSSL] * (MAX_SIGNATURES + 1))
    assert _code(GOOD | {SIGNATURE_HEADER: many}) == "bad_signature"


def _authenticator(shared: list[str], **per_use_case: list[str]) -> Authenticator:
    return Authenticator.from_secrets(
        [SecretStr(s) for s in shared],
        {name: [SecretStr(s) for s in secrets] for name, secrets in per_use_case.items()},
    )


def _authenticate(auth: Authenticator, use_case: str, secret: str) -> str:
    headers = signed_headers(secret, BODY, webhook_id="msg_7")
    try:
        delivery = auth.authenticate(use_case, headers, BODY)
    except SignatureError as exc:
        return f"{exc.status} {exc.code}"
    assert delivery == Delivery(use_case, "msg_7", int(headers[TIMESTAMP_HEADER]))
    return "ok"


def test_authenticator_without_secret_is_503() -> None:
    assert _authenticate(_authenticator([]), "a", SECRET) == "503 secret_not_configured"


def test_authenticator_uses_the_use_case_secrets_where_they_are_set() -> None:
    auth = _authenticator([SECRET], billing=[NEW])
    assert _authenticate(auth, "billing", NEW) == "ok"
    assert _authenticate(auth, "billing", SECRET) == "401 bad_signature"
    assert _authenticate(auth, "other", SECRET) == "ok"


def test_authenticator_per_use_case_secret_works_without_shared_secret() -> None:
    assert _authenticate(_authenticator([], billing=[NEW]), "billing", NEW) == "ok"
    assert _authenticate(_authenticator([], billing=[NEW]), "a", NEW) == "503 secret_not_configured"


def test_authenticator_during_a_rotation_accepts_old_and_new_and_refuses_others() -> None:
    auth = _authenticator([SECRET, NEW])
    assert _authenticate(auth, "a", SECRET) == "ok"
    assert _authenticate(auth, "a", NEW) == "ok"
    assert _authenticate(auth, "a", new_secret()) == "401 bad_signature"
