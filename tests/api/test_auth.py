"""Bearer tokens: a verified token is remembered until it expires, never past it."""

from __future__ import annotations

import time

import jwt
import pytest

from api import auth
from api.auth import mint_token, verify_token
from api.errors import Unauthorized

SECRET = "auth-test-secret-" + "s" * 32


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    expires_at = int(time.time()) + 2
    token = jwt.encode(
        {"sub": "cust-001", "role": "customer", "exp": expires_at}, SECRET, algorithm="HS256"
    )
    assert verify_token(token, secret=SECRET).subject == "cust-001"
    assert verify_token(token, secret=SECRET).subject == "cust-001"  # from memory

    time.sleep(max(0.0, expires_at - time.time()) + 0.1)

    with pytest.raises(Unauthorized, match="expired"):
        verify_token(token, secret=SECRET)


def test_a_token_verified_under_one_secret_is_refused_under_another() -> None:
    token = mint_token("cust-002", "customer", secret=SECRET, ttl_seconds=60)
    assert verify_token(token, secret=SECRET).role == "customer"

    with pytest.raises(Unauthorized, match="Invalid token"):
        verify_token(token, secret="another-secret-" + "o" * 32)


def test_a_tampered_copy_of_a_remembered_token_is_refused() -> None:
    token = mint_token("cust-003", "customer", secret=SECRET, ttl_seconds=60)
    verify_token(token, secret=SECRET)
    header, _claims, signature = token.split(".")
    staff = jwt.encode({"sub": "cust-003", "role": "staff", "exp": 2**31}, "x" * 32)
    forged = ".".join([header, staff.split(".")[1], signature])

    with pytest.raises(Unauthorized, match="Invalid token"):
        verify_token(forged, secret=SECRET)


def test_the_memory_of_verified_tokens_is_bounded() -> None:
    for n in range(auth.VERIFIED_CACHE_SIZE + 50):
        verify_token(
            mint_token(f"cust-{n}", "customer", secret=SECRET, ttl_seconds=60), secret=SECRET
        )
    assert len(auth._verified) <= auth.VERIFIED_CACHE_SIZE
