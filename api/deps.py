"""FastAPI dependencies, as `Annotated` aliases.

All are `async def`: none does I/O, and FastAPI runs a plain `def` dependency
in its thread pool, a thread hop per dependency per request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from langgraph.graph.state import CompiledStateGraph

from api.auth import Principal, verify_token
from api.errors import Forbidden, Unauthorized
from api.settings import Settings
from api.thread_store import ThreadStore

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <JWT>`")


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


async def _graph(request: Request) -> CompiledStateGraph:
    return request.app.state.graph


async def _threads(request: Request) -> ThreadStore:
    return request.app.state.threads


SettingsDep = Annotated[Settings, Depends(_settings)]
GraphDep = Annotated[CompiledStateGraph, Depends(_graph)]
ThreadStoreDep = Annotated[ThreadStore, Depends(_threads)]


async def _current_user(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized(
            "Missing bearer token: send 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return verify_token(credentials.credentials, secret=settings.jwt_secret.get_secret_value())


CurrentUser = Annotated[Principal, Depends(_current_user)]


async def _current_customer(user: CurrentUser) -> Principal:
    if user.role != "customer":
        raise Forbidden("Staff tokens cannot chat as a customer; use a customer token.")
    return user


async def _current_staff(user: CurrentUser) -> Principal:
    if user.role != "staff":
        raise Forbidden("This endpoint is for support staff only.")
    return user


CurrentCustomer = Annotated[Principal, Depends(_current_customer)]
CurrentStaff = Annotated[Principal, Depends(_current_staff)]
