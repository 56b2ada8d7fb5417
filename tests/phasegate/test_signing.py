"""Request signatures, the replay window and the replay cache."""

import time

import pytest
from pydantic import SecretStr

from phasegate.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Authenticator,
    ReplayCache,
    SignatureError,
    sign,
    signed_headers,
    verify,
)

SECRET = "s3cret"
NOW = 1_700_000_000
BODY = b'{"reason":"nightly"}'
# printf '%s' '1700000000.{"reason":"nightly"}' | openssl dgst -sha256 -hmac 's3cret' -hex
OPENSSL_HEX = "ea887486c525bf8401b1341223c2dfef4865e43eea2936e33fc14d41b3960844"


def _error_code(*args: object, **kwargs: object) -> str:
    with pytest.raises(SignatureError) as caught:
        verify(*args, **kwargs)  # type: ignore[arg-type]
    return caught.value.code


def test_sign_matches_openssl() -> None:
    assert sign(SECRET, NOW, BODY) == f"sha256={OPENSSL_HEX}"


def test_signed_headers_carry_timestamp_and_signature() -> None:
    headers = signed_headers(SECRET, BODY, now=NOW + 0.7)
    assert headers == {TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: f"sha256={OPENSSL_HEX}"}


def test_verify_returns_the_timestamp_of_a_good_signature() -> None:
    assert verify(SECRET, str(NOW), f"sha256={OPENSSL_HEX}", BODY, now=NOW + 10) == NOW


@pytest.mark.parametrize(
    ("timestamp", "signature"), [(None, "sha256=ab"), (str(NOW), None), ("", ""), (str(NOW), "")]
)
def test_verify_missing_header_is_missing_signature(
    timestamp: str | None, signature: str | None
) -> None:
    assert _error_code(SECRET, timestamp, signature, BODY, now=NOW) == "missing_signature"


@pytest.mark.parametrize("timestamp", ["-5", "1.5e9", "17000000OO", "١٧٠٠٠٠٠٠٠٠", "9" * 13])
def test_verify_malformed_timestamp_is_bad_timestamp(timestamp: str) -> None:
    code = _error_code(SECRET, timestamp, sign(SECRET, NOW, BODY), BODY, now=NOW)
    assert code == "bad_timestamp"


@pytest.mark.parametrize("offset", [-301, 301, -86_400])
def test_verify_outside_the_window_is_stale(offset: int) -> None:
    signature = sign(SECRET, NOW + offset, BODY)
    assert _error_code(SECRET, str(NOW + offset), signature, BODY, now=NOW) == "stale_timestamp"


@pytest.mark.parametrize("offset", [-300, 300])
def test_verify_at_the_edge_of_the_window_passes(offset: int) -> None:
    signature = sign(SECRET, NOW + offset, BODY)
    assert verify(SECRET, str(NOW + offset), signature, BODY, now=NOW) == NOW + offset


@pytest.mark.parametrize(
    "signature",
    [
        sign("other-secret", NOW, BODY),
        sign(SECRET, NOW, BODY + b" "),
        sign(SECRET, NOW + 1, BODY),
        OPENSSL_HEX,
        f"sha256={OPENSSL_HEX.upper()}",
        "sha256=",
    ],
    ids=["other secret", "other body", "other timestamp", "no prefix", "uppercase", "empty hex"],
)
def test_verify_wrong_signature_is_bad_signature(signature: str) -> None:
    assert _error_code(SECRET, str(NOW), signature, BODY, now=NOW) == "bad_signature"


def test_replay_cache_refuses_a_key_it_holds() -> None:
    cache = ReplayCache()
    assert cache.reserve(("POST", "/a", "sig"), NOW, now=NOW) is True
    assert cache.reserve(("POST", "/a", "sig"), NOW, now=NOW + 299) is False


def test_replay_cache_forgets_a_key_once_its_timestamp_is_stale() -> None:
    cache = ReplayCache(window=300)
    cache.reserve(("POST", "/a", "sig"), NOW, now=NOW)
    assert cache.reserve(("POST", "/a", "sig"), NOW, now=NOW + 301) is True


def test_replay_cache_release_allows_the_key_again() -> None:
    cache = ReplayCache()
    cache.reserve(("POST", "/a", "sig"), NOW, now=NOW)
    cache.release(("POST", "/a", "sig"))
    assert cache.reserve(("POST", "/a", "sig"), NOW, now=NOW) is True


def test_replay_cache_full_of_live_keys_raises_overflow() -> None:
    cache = ReplayCache(max_entries=2)
    cache.reserve(("k", "1"), NOW, now=NOW)
    cache.reserve(("k", "2"), NOW, now=NOW)
    with pytest.raises(OverflowError):
        cache.reserve(("k", "3"), NOW, now=NOW)


def test_replay_cache_full_makes_room_by_dropping_expired_keys() -> None:
    cache = ReplayCache(max_entries=2, window=300)
    cache.reserve(("k", "1"), NOW - 200, now=NOW)
    cache.reserve(("k", "2"), NOW, now=NOW)
    assert cache.reserve(("k", "3"), NOW + 150, now=NOW + 150) is True
    assert len(cache) == 2


def _authenticator(secret: str | None = SECRET, **per_use_case: str) -> Authenticator:
    return Authenticator(
        secret=SecretStr(secret) if secret else None,
        secrets_by_use_case={name: SecretStr(value) for name, value in per_use_case.items()},
        replays=ReplayCache(),
    )


def _authenticate(
    auth: Authenticator,
    use_case: str,
    secret: str,
    path: str = "/p",
    *,
    method: str = "POST",
    now: float | None = None,
) -> str:
    headers = signed_headers(secret, BODY, now=now)
    try:
        auth.authenticate(
            use_case, method, path, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], BODY
        )
    except SignatureError as exc:
        return f"{exc.status} {exc.code}"
    return "ok"


def test_authenticator_without_secret_is_503() -> None:
    assert _authenticate(_authenticator(None), "a", SECRET) == "503 secret_not_configured"


def test_authenticator_uses_the_use_case_secret_where_one_is_set() -> None:
    auth = _authenticator(SECRET, billing="billing-secret")
    assert _authenticate(auth, "billing", "billing-secret") == "ok"


def test_authenticator_refuses_the_deployment_secret_for_a_use_case_with_its_own() -> None:
    auth = _authenticator(SECRET, billing="billing-secret")
    assert _authenticate(auth, "billing", SECRET) == "401 bad_signature"


def test_authenticator_per_use_case_secret_works_without_deployment_secret() -> None:
    auth = _authenticator(None, billing="billing-secret")
    assert _authenticate(auth, "billing", "billing-secret") == "ok"


def test_authenticator_same_request_twice_is_replayed() -> None:
    auth, now = _authenticator(), time.time()
    _authenticate(auth, "a", SECRET, now=now)
    assert _authenticate(auth, "a", SECRET, now=now) == "401 replayed"


def test_authenticator_same_signature_on_another_path_is_not_a_replay() -> None:
    auth, now = _authenticator(), time.time()
    _authenticate(auth, "a", SECRET, "/v1/usecases/a/checks", now=now)
    assert _authenticate(auth, "b", SECRET, "/v1/usecases/b/checks", now=now) == "ok"


def test_authenticator_same_get_twice_is_not_held() -> None:
    auth, now = _authenticator(), time.time()
    _authenticate(auth, "a", SECRET, "/v1/usecases/a/active", method="GET", now=now)
    assert _authenticate(auth, "a", SECRET, "/v1/usecases/a/active", method="GET", now=now) == "ok"
    assert len(auth.replays) == 0


def test_authenticator_full_replay_cache_is_503() -> None:
    auth = _authenticator()
    auth.replays.max_entries = 0
    assert _authenticate(auth, "a", SECRET) == "503 replay_cache_full"
