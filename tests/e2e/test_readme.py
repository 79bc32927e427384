"""The README's walkthrough, run as written against `up --demo`; then `up --demo` again changes nothing.

Every ```bash block of the walkthrough section runs in one bash session (as a reader pastes them
into one terminal), from the directory holding `var/`, with `set -e`: a command that fails fails
the test. The second `up --demo` must reuse the tokens of the first and seed nothing.
"""

import asyncio
import re
import subprocess
from pathlib import Path

import httpx

from tests.e2e.test_up import REPO, UpProcess, _auth

WALKTHROUGH = ("## A five-minute walkthrough", "## How it fits together")
SCRIPT_TIMEOUT = 240


def walkthrough_blocks(readme: Path = REPO / "README.md") -> list[str]:
    text = readme.read_text()
    start, end = text.index(WALKTHROUGH[0]), text.index(WALKTHROUGH[1])
    return re.findall(r"^```bash\n(.*?)^```", text[start:end], re.MULTILINE | re.DOTALL)


def _tokens(stdout: str) -> dict[str, str]:
    return dict(re.findall(r"^\s+\w+\s+(\S+\.\S+)\s+(cc_\S+)$", stdout, re.MULTILINE))


class TestReadmeWalkthrough:
    def test_the_walkthrough_has_its_blocks(self) -> None:
        blocks = walkthrough_blocks()
        assert len(blocks) >= 8
        assert blocks[0].startswith(". var/demo.env")
        assert not any(re.search(r"(^|[\s'\"=])\.\./", b) for b in blocks), "the walkthrough steps outside the checkout"

    async def test_the_walkthrough_runs_as_written_and_a_second_demo_run_reuses_everything(
        self, up: UpProcess, http: httpx.AsyncClient
    ) -> None:
        up.start("--demo")
        await up.wait_for_stdout(r"^Demo tenant 'demo' is seeded")
        first = _tokens(up.stdout())
        assert {"olivia.ops", "alice.coder", "ada.admin"} <= set(first), up.output()
        assert (up.data_dir / "demo.env").stat().st_mode & 0o077 == 0

        script = "set -euo pipefail\n" + "\n".join(walkthrough_blocks())
        ran = await asyncio.to_thread(
            subprocess.run, ["bash", "-c", script], cwd=up.workdir, env=up.env,
            capture_output=True, text=True, timeout=SCRIPT_TIMEOUT, check=False,
        )
        assert ran.returncode == 0, f"the walkthrough failed\n{ran.stdout[-4000:]}\n{ran.stderr[-4000:]}"
        out = ran.stdout
        assert re.search(r'"external_id":"walk-\d+","status":"ready"', out), out
        assert re.search(r'"external_id":"held-\d+","status":"on_hold"', out), out
        assert re.search(r'"external_id":"held-\d+","status":"ready"', out), out
        assert "type 2 diabetes mellitus with hyperglycemia" in out  # the note, read by the coder
        assert '"scrub"' in out
        assert "ISA*" in out  # the 837P
        assert '"verified":true' in out
        assert '"coding_sla_hours":36' in out
        assert not list(up.workdir.glob("*.json")), "the walkthrough wrote files outside its scratch directory"

        listed = await http.get(f"{up.api}/v1/encounters?limit=200", headers=_auth(first["olivia.ops"]))
        count = len(listed.json()["items"])
        assert (await up.interrupt()) == 0, up.output()

        up.start("--demo")
        await up.wait_for_stdout(r"^Demo tenant 'demo' is already seeded")
        assert _tokens(up.stdout()) == first
        again = await http.get(f"{up.api}/v1/encounters?limit=200", headers=_auth(first["olivia.ops"]))
        assert again.status_code == 200, again.text
        assert len(again.json()["items"]) == count
        logs = up.stdout() + up.stderr_path.read_text(errors="replace")
        assert "status=409" not in logs
        assert "demo.webhook" not in logs
        assert (await up.interrupt()) == 0, up.output()
