"""Request dependencies: one session per request (its transaction), the Temporal client, the caller."""

import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import structlog
from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.auth import token_hash
from api.errors import Forbidden, Unauthorized
from clearchart.keys import chain_keyring
from clearchart.secret_box import open_secret, secret_keys
from clearchart.settings import Settings
from integrations.ehr.errors import WebhookVerificationError
from integrations.ehr.signing import verify
from models.access import Permission, Principal, can
from models.encounters.tables import WebhookSource
from models.evidence.chain import Keyring
from models.repositories import users

_bearer = HTTPBearer(auto_error=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


def get_temporal(request: Request) -> Client:
    client: Client = request.app.state.temporal
    return client


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[AsyncSession, Depends(get_session)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("send 'Authorization: Bearer <token>'; create one with 'clearchart token create'")
    settings: Settings = request.app.state.settings
    digest = token_hash(settings.secret_key, credentials.credentials)
    async with request.app.state.sessions() as session:
        row = await users.active_token(session, digest)
    if row is None:
        raise Unauthorized("the bearer token is unknown or revoked")
    principal = users.principal_of(row)
    request.state.principal = principal  # the PHI access log records who, even when refused later
    structlog.contextvars.bind_contextvars(tenant_id=principal.tenant_id, user_id=principal.user_id)
    return principal


PrincipalDep = Annotated[Principal, Depends(authenticate)]


def require(permission: Permission) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that lets the request through only for roles holding `permission`."""

    async def check(principal: PrincipalDep) -> Principal:
        if not can(principal, permission):
            raise Forbidden(f"role '{principal.role}' lacks the '{permission}' permission for this request")
        return principal

    return check


# The errors a route acting on one chart declares besides the shared ones.
PROBLEMS: dict[int | str, dict[str, Any]] = {404: {"description": "unknown, or not visible to you"}, 409: {"description": "not allowed in the current state"}}


async def signed_source(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    source: Annotated[uuid.UUID, Query(description="the webhook source id printed by 'clearchart source create'")],
) -> tuple[WebhookSource, str, bytes]:
    """The auth dependency of the webhook: the body must carry a valid signature of its source."""
    row = await session.get(WebhookSource, source)
    if row is None:
        raise Unauthorized("unknown webhook source; use the URL printed by 'clearchart source create'")
    body = await request.body()
    try:
        webhook_id = verify(
            open_secret(secret_keys(settings), row.secret),
            request.headers,
            body,
            now=datetime.now(UTC),
            tolerance=timedelta(seconds=settings.webhook_tolerance_seconds),
        )
    except WebhookVerificationError as exc:
        raise Unauthorized(exc.detail) from exc
    return row, webhook_id, body


def chain_keys(request: Request) -> Keyring:
    """The chain keys from the key file (never the database), read once per app."""
    keys: Keyring | None = getattr(request.app.state, "chain_keys", None)
    if keys is None:
        keys = request.app.state.chain_keys = chain_keyring(request.app.state.settings)
    return keys
