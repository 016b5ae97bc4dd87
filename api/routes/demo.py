"""Development-only helpers for the demo store page: demo customers and tokens.

Outside development mode every route here answers 404, as if it did not exist:
a real store mints its customers' tokens on its own server.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.auth import Role, mint_token
from api.deps import SettingsDep
from api.errors import NotFound

logger = logging.getLogger(__name__)

DEMO_STAFF_ID = "staff-001"
_SUBJECT_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"


async def _development_only(settings: SettingsDep) -> None:
    if not settings.is_development:
        raise NotFound("Not found.")


router = APIRouter(
    prefix="/v1/demo", tags=["demo (development only)"], dependencies=[Depends(_development_only)]
)


class DemoCustomerPublic(BaseModel):
    """A demo customer the visitor can shop as."""

    id: str
    name: str
    email: str
    order_ids: list[int] = Field(default_factory=list)


class DemoCustomerListPublic(BaseModel):
    """The seeded demo customers (empty when the store is not seeded)."""

    customers: list[DemoCustomerPublic]
    staff_id: str = DEMO_STAFF_ID


class DemoTokenCreate(BaseModel):
    """Who to mint a token for: exactly one of `customer_id` and `staff_id`."""

    model_config = ConfigDict(extra="forbid")

    customer_id: Annotated[str | None, Field(pattern=_SUBJECT_PATTERN)] = None
    staff_id: Annotated[str | None, Field(pattern=_SUBJECT_PATTERN)] = None

    @model_validator(mode="after")
    def _exactly_one(self) -> DemoTokenCreate:
        if (self.customer_id is None) == (self.staff_id is None):
            raise ValueError("send exactly one of customer_id and staff_id")
        return self


class DemoTokenPublic(BaseModel):
    """A bearer token for the demo page."""

    token: str
    role: Role
    subject: str
    expires_in: int


@router.get("/customers", response_model=DemoCustomerListPublic)
async def list_demo_customers(request: Request) -> DemoCustomerListPublic:
    """List the seeded demo customers with a few of their order numbers."""
    return DemoCustomerListPublic(
        customers=[DemoCustomerPublic(**row) for row in await _customers(request)]
    )


@router.post("/token", response_model=DemoTokenPublic)
async def mint_demo_token(body: DemoTokenCreate, settings: SettingsDep) -> DemoTokenPublic:
    """Mint a customer or staff token, as a store's server would."""
    role: Role = "customer" if body.customer_id else "staff"
    subject = body.customer_id or body.staff_id or ""
    ttl = settings.token_ttl_seconds
    secret = settings.jwt_secret.get_secret_value()
    token = mint_token(subject, role, secret=secret, ttl_seconds=ttl)
    return DemoTokenPublic(token=token, role=role, subject=subject, expires_in=ttl)


async def _customers(request: Request) -> list[dict[str, Any]]:
    """Read the demo customers from the store; degrade to none when it is not there."""
    try:
        from db.seed import demo_customer_summaries
    except ImportError:  # the demo store is an optional part of the schema
        return []
    try:
        async with request.app.state.pool.connection() as conn:
            return await demo_customer_summaries(conn)
    except Exception as error:  # an unseeded or older database: no demo customers
        logger.warning("demo customers unavailable: %s", error)
        return []
