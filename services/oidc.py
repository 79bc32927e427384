"""OpenID Connect sign-in for people: authorization code + PKCE against the tenant's provider.

Per tenant, ``settings["oidc"]`` names the provider and says how ID-token claims become a
ClearChart principal::

    {"issuer": "https://login.example.org", "client_id": "clearchart", "client_secret": "…",
     "scopes": "openid email profile",
     "claims": {"user": "email", "role": "clearchart_role", "vendor": "clearchart_vendor", "npi": "npi"},
     "roles": {"hcc-coders": "coder", "physicians": "physician"},
     "session_minutes": 480}

A role claim may be a string or a list (the first value that maps wins); ``roles`` maps the
provider's values to ours, and our own role names map to themselves. Everything else (state,
nonce, PKCE verifier) travels in a sealed cookie, so no server-side session store is needed.
"""

import base64
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import structlog
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from models.access import ROLES, Principal

log = structlog.get_logger(__name__)

OIDC_SETTING = "oidc"
TOKEN_SIGN_IN_SETTING = "web_token_sign_in"
DEFAULT_SESSION_MINUTES = 8 * 60
_DISCOVERY: dict[str, tuple[float, dict[str, Any]]] = {}
_DISCOVERY_SECONDS = 3600


class SignInRefused(Exception):
    """The provider or its claims do not let this person in; the message says why."""


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    claims: dict[str, str]
    roles: dict[str, str]
    session_minutes: int


@dataclass(frozen=True)
class Pending:
    """What the callback needs to finish a sign-in (sealed in a cookie in between)."""

    state: str
    nonce: str
    verifier: str


def config_for(settings: dict[str, Any]) -> OidcConfig | None:
    raw = settings.get(OIDC_SETTING)
    if not isinstance(raw, dict) or not raw.get("issuer") or not raw.get("client_id"):
        return None
    claims = {"user": "email", "role": "clearchart_role", "vendor": "clearchart_vendor", "npi": "npi", **raw.get("claims", {})}
    return OidcConfig(
        issuer=str(raw["issuer"]).rstrip("/"),
        client_id=str(raw["client_id"]),
        client_secret=str(raw.get("client_secret", "")),
        scopes=str(raw.get("scopes", "openid email profile")),
        claims=claims,
        roles={str(k): str(v) for k, v in raw.get("roles", {}).items()},
        session_minutes=int(raw.get("session_minutes", DEFAULT_SESSION_MINUTES)),
    )


def token_sign_in_allowed(settings: dict[str, Any]) -> bool:
    """Bearer-token sign-in to the web UI: on by default, off once the tenant uses SSO."""
    if TOKEN_SIGN_IN_SETTING in settings:
        return bool(settings[TOKEN_SIGN_IN_SETTING])
    return config_for(settings) is None


async def discover(http: httpx.AsyncClient, issuer: str) -> dict[str, Any]:
    cached = _DISCOVERY.get(issuer)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    try:
        response = await http.get(f"{issuer}/.well-known/openid-configuration", timeout=10)
        response.raise_for_status()
        meta: dict[str, Any] = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SignInRefused(f"the sign-in provider {issuer} cannot be reached; try again shortly") from exc
    _DISCOVERY[issuer] = (time.monotonic() + _DISCOVERY_SECONDS, meta)
    return meta


def authorization_url(meta: dict[str, Any], config: OidcConfig, redirect_uri: str) -> tuple[str, Pending]:
    pending = Pending(state=generate_token(32), nonce=generate_token(32), verifier=generate_token(64))
    query = {
        "response_type": "code",
        "client_id": config.client_id,
        "redirect_uri": redirect_uri,
        "scope": config.scopes,
        "state": pending.state,
        "nonce": pending.nonce,
        "code_challenge": create_s256_code_challenge(pending.verifier),
        "code_challenge_method": "S256",
    }
    return f"{meta['authorization_endpoint']}?{urlencode(query)}", pending


async def finish(
    http: httpx.AsyncClient, meta: dict[str, Any], config: OidcConfig, pending: Pending, code: str, redirect_uri: str
) -> dict[str, Any]:
    """Exchange the code (with the PKCE verifier) and return the verified ID-token claims."""
    basic = base64.b64encode(f"{config.client_id}:{config.client_secret}".encode()).decode()
    try:
        response = await http.post(
            meta["token_endpoint"],
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": pending.verifier},
            headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
            timeout=10,
        )
    except httpx.HTTPError as exc:
        raise SignInRefused("the sign-in provider cannot be reached; try again shortly") from exc
    if response.status_code != 200:
        raise SignInRefused(f"the sign-in provider refused the code ({response.status_code}); start again")
    id_token = response.json().get("id_token")
    if not id_token:
        raise SignInRefused("the sign-in provider sent no ID token; is the 'openid' scope configured?")
    try:
        keys = KeySet.import_key_set((await http.get(meta["jwks_uri"], timeout=10)).json())
        token = jwt.decode(id_token, keys)
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": config.issuer},
            aud={"essential": True, "value": config.client_id},
            nonce={"essential": True, "value": pending.nonce},
            exp={"essential": True},
        ).validate(token.claims)
    except (JoseError, ValueError, httpx.HTTPError) as exc:
        raise SignInRefused(f"the ID token did not verify ({type(exc).__name__}); start again") from exc
    claims: dict[str, Any] = dict(token.claims)
    return claims


def principal_from(config: OidcConfig, tenant_id: str, claims: dict[str, Any]) -> Principal:
    """Who the claims say this is, by the tenant's mapping; refused when they say too little."""
    user = claims.get(config.claims["user"]) or claims.get("sub")
    values = claims.get(config.claims["role"])
    candidates = values if isinstance(values, list) else [values] if values else []
    role = next((r for v in candidates if (r := config.roles.get(str(v), str(v))) in ROLES), None)
    if not user or role is None:
        raise SignInRefused(
            f"your account carries no ClearChart role (claim '{config.claims['role']}'); ask your administrator for access"
        )
    vendor = claims.get(config.claims["vendor"])
    if role in ("coder", "vendor_lead") and not vendor:
        raise SignInRefused(f"a {role} needs a vendor (claim '{config.claims['vendor']}'); ask your administrator")
    npi = claims.get(config.claims["npi"])
    return Principal(tenant_id, str(user), role, str(vendor) if vendor else None, str(npi) if npi else None)
