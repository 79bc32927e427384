"""OpenID Connect sign-in for the web UI against a real OIDC provider started in-process
(oidc-provider-mock: Flask + authlib, signed ID tokens, discovery, JWKS)."""

import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from oidc_provider_mock import User, run_server_in_thread

from api.web.session import SESSION_COOKIE, unseal
from tests.support import LiveStack, make_tenant

USERS = [
    User(sub="alice", claims={"email": "alice@example.org", "clearchart_role": ["staff", "hcc-coders"], "clearchart_vendor": "v1"}),
    User(sub="olivia", claims={"email": "olivia@example.org", "clearchart_role": "ops"}),
    User(sub="nobody", claims={"email": "nobody@example.org"}),
]


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    with run_server_in_thread(user_claims=USERS) as server:
        yield f"http://localhost:{server.server_port}"


async def sso_tenant(live: LiveStack, http: httpx.AsyncClient, issuer: str, **extra: Any) -> str:
    oidc = {"issuer": issuer, "client_id": "clearchart", "client_secret": "s3cret", "roles": {"hcc-coders": "coder"}, "session_minutes": 30}
    tenant = await make_tenant(live, http, oidc=oidc, **extra)
    return tenant.id


async def sign_in(browser: httpx.AsyncClient, api: str, tenant_id: str, sub: str) -> httpx.Response:
    """Start at ClearChart, choose the user at the provider, follow the redirect back."""
    start = await browser.get(f"{api}/ui/sso?tenant={tenant_id}")
    assert start.status_code == 303
    to_provider = await browser.get(f"{api}{start.headers['location']}")
    assert to_provider.status_code == 303, to_provider.text
    authorize = to_provider.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert query["nonce"]
    assert query["state"]
    chosen = await browser.post(authorize, data={"sub": sub})
    assert chosen.status_code == 302, chosen.text
    return await browser.get(chosen.headers["location"])


class TestSignIn:
    async def test_claims_become_a_coder_session_that_expires_and_can_sign_out(self, live: LiveStack, http: httpx.AsyncClient, provider: str) -> None:
        tenant_id = await sso_tenant(live, http, provider)
        async with httpx.AsyncClient(timeout=30) as browser:
            back = await sign_in(browser, live.url, tenant_id, "alice")
            assert back.status_code == 303, back.text
            payload = unseal(live.settings.secret_key.encode(), "session", browser.cookies.get(SESSION_COOKIE))
            assert payload is not None
            assert payload["p"] == [tenant_id, "alice@example.org", "coder", "v1", None]
            assert 29 * 60 < payload["exp"] - time.time() <= 30 * 60
            home = await browser.get(f"{live.url}{back.headers['location']}")
            assert home.status_code == 200
            assert "alice@example.org" in home.text
            csrf = re.search(r'name="csrf" value="([^"]+)"', home.text)
            assert csrf is not None
            out = await browser.post(f"{live.url}/ui/logout", data={"csrf": csrf.group(1)})
            assert out.status_code == 303
            after = await browser.get(f"{live.url}/ui/home")
            assert after.status_code == 303
            assert after.headers["location"].startswith("/ui?next=")

    async def test_an_account_without_a_mapped_role_is_refused(self, live: LiveStack, http: httpx.AsyncClient, provider: str) -> None:
        tenant_id = await sso_tenant(live, http, provider)
        async with httpx.AsyncClient(timeout=30) as browser:
            refused = await sign_in(browser, live.url, tenant_id, "nobody")
            assert refused.status_code == 403
            assert "no ClearChart role" in refused.text
            assert SESSION_COOKIE not in browser.cookies

    async def test_a_forged_or_replayed_callback_is_refused(self, live: LiveStack, http: httpx.AsyncClient, provider: str) -> None:
        tenant_id = await sso_tenant(live, http, provider)
        async with httpx.AsyncClient(timeout=30) as browser:
            forged = await browser.get(f"{live.url}/ui/sso/{tenant_id}/callback?code=abc&state=xyz")
            assert forged.status_code == 400
            start = await browser.get(f"{live.url}/ui/sso/{tenant_id}")
            chosen = await browser.post(start.headers["location"], data={"sub": "olivia"})
            callback = chosen.headers["location"].replace("state=", "state=tampered")
            assert (await browser.get(callback)).status_code == 400

    async def test_a_tenant_without_sso_has_no_sso_page(self, live: LiveStack, http: httpx.AsyncClient) -> None:
        tenant = await make_tenant(live, http)
        assert (await http.get(f"{live.url}/ui/sso/{tenant.id}")).status_code == 404


class TestTokenSignIn:
    async def login(self, browser: httpx.AsyncClient, api: str, token: str) -> httpx.Response:
        form = await browser.get(f"{api}/ui")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        return await browser.post(f"{api}/ui/login", data={"token": token, "csrf": csrf.group(1)})

    async def test_token_sign_in_is_off_where_the_tenant_uses_sso_unless_enabled(self, live: LiveStack, http: httpx.AsyncClient, provider: str) -> None:
        oidc = {"issuer": provider, "client_id": "clearchart"}
        sso_only = await make_tenant(live, http, oidc=oidc)
        both = await make_tenant(live, http, oidc=oidc, web_token_sign_in=True)
        plain = await make_tenant(live, http)
        async with httpx.AsyncClient(timeout=30) as browser:
            refused = await self.login(browser, live.url, sso_only.tokens["ops"])
            assert refused.status_code == 403
            assert "single sign-on" in refused.text
            assert (await self.login(browser, live.url, both.tokens["ops"])).status_code == 303
        async with httpx.AsyncClient(timeout=30) as browser:
            assert (await self.login(browser, live.url, plain.tokens["ops"])).status_code == 303
        # Bearer tokens keep working for the API either way.
        assert (await http.get(f"{live.url}/v1/queues", headers=sso_only.auth("ops"))).status_code == 200
