"""/docs and /redoc work without internet: every asset they reference is served by the API itself."""

import re

import httpx

from tests.support import LiveStack


def _asset_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["']([^"']+)["']""", html) + re.findall(r"""url:\s*['"]([^'"]+)['"]""", html)


class TestOfflineDocs:
    async def test_swagger_ui_references_only_local_assets_and_they_are_served(self, live: LiveStack, http: httpx.AsyncClient) -> None:
        page = await http.get(f"{live.url}/docs")
        assert page.status_code == 200
        urls = _asset_urls(page.text)
        assert any(u.endswith("swagger-ui-bundle.js") for u in urls), urls
        for url in urls:
            assert url.startswith("/"), f"{url} is not served by the API"
            asset = await http.get(f"{live.url}{url}")
            assert asset.status_code == 200, url
            assert asset.content, url

    async def test_redoc_references_only_local_assets(self, live: LiveStack, http: httpx.AsyncClient) -> None:
        page = await http.get(f"{live.url}/redoc")
        assert page.status_code == 200
        scripts = re.findall(r"""src=["']([^"']+)["']""", page.text)
        assert scripts
        assert all(s.startswith("/") for s in scripts), scripts
        assert "fonts.googleapis" not in page.text
        for script in scripts:
            assert (await http.get(f"{live.url}{script}")).status_code == 200
