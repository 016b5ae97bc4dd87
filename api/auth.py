"""Bearer tokens: HS256 JWTs with `sub`, `role` and `exp`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import jwt

from api.errors import Unauthorized

Role = Literal["customer", "staff"]
ROLES: tuple[Role, ...] = ("customer", "staff")
_ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    subject: str
    """Customer id for customers, staff member id for staff."""
    role: Role


def mint_token(subject: str, role: Role, *, secret: str, ttl_seconds: int) -> str:
    """Return a signed token for `subject` acting as `role`, valid for `ttl_seconds`."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, not {role!r}")
    if not subject.strip():
        raise ValueError("subject must not be empty")
    now = int(time.time())
    claims = {"sub": subject, "role": role, "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def verify_token(token: str, *, secret: str) -> Principal:
    """Decode and check a bearer token.

    Raises:
        Unauthorized: Bad signature, expired, or missing/invalid claims.

    """
    try:
        claims = jwt.decode(
            token, secret, algorithms=[_ALGORITHM], options={"require": ["sub", "role", "exp"]}
        )
    except jwt.ExpiredSignatureError as error:
        raise Unauthorized("Token expired: sign in again.") from error
    except jwt.InvalidTokenError as error:
        raise Unauthorized(f"Invalid token: {error}.") from error
    role, subject = claims.get("role"), claims.get("sub")
    if role not in ROLES or not isinstance(subject, str) or not subject:
        raise Unauthorized("Invalid token: 'role' must be customer or staff and 'sub' non-empty.")
    return Principal(subject=subject, role=role)
