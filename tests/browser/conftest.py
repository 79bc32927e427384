"""A real Chromium (Debian's, headless) driving the live API; screenshots land in test-artifacts/.

Every page a test opens is watched for console errors and uncaught exceptions; any at all fails
the test at teardown, so "no console errors on any page" is checked, not hoped for.
"""

import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Page,
    async_playwright,
)

from tests.support import Tenant

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).exists()
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DESKTOP = {"width": 1280, "height": 900}
TABLET = {"width": 820, "height": 1180}


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        pytest.skip("Chromium is not installed (.ci/run installs it with apt)")
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield launched
        await launched.close()


@dataclass
class Ui:
    """One signed-in browser context (one person), with its console watched."""

    role: str
    base: str
    context: BrowserContext
    page: Page
    test: str
    errors: list[str] = field(default_factory=list)

    async def go(self, path: str) -> None:
        response = await self.page.goto(self.base + path)
        assert response is not None, path
        assert response.ok, f"{path} -> {response.status}"

    async def shot(self, label: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{self.test}-{self.role}-{label}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path


OpenUi = Callable[..., Awaitable[Ui]]


@pytest_asyncio.fixture(loop_scope="session")
async def open_ui(browser: Browser, tenant: Tenant, request: pytest.FixtureRequest) -> AsyncIterator[OpenUi]:
    """Sign in as a role through the sign-in form; returns a watched page for that person."""
    opened: list[Ui] = []
    name = re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name)[:60]

    async def open_as(role: str, viewport: dict[str, int] = DESKTOP) -> Ui:
        context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
        context.set_default_timeout(15_000)
        page = await context.new_page()
        ui = Ui(role, tenant.stack.url, context, page, name)

        def on_console(msg: ConsoleMessage) -> None:
            if msg.type == "error":
                ui.errors.append(f"console error on {page.url}: {msg.text}")

        def on_error(exc: Error) -> None:
            ui.errors.append(f"uncaught exception on {page.url}: {exc}")

        page.on("console", on_console)
        page.on("pageerror", on_error)
        opened.append(ui)
        await ui.go("/ui")
        await page.get_by_label("Access token").fill(tenant.tokens[role])
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(re.compile(r"/ui/(?!login)"))
        return ui

    yield open_as
    errors = [e for ui in opened for e in ui.errors]
    for ui in opened:
        await ui.context.close()
    assert not errors, "\n".join(errors)
