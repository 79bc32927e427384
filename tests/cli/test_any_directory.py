"""The CLI from any directory: its data dir (and so the keys file the audit chain and Temporal
payloads depend on) is the checkout's `var/`, not one relative to where the command runs."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from clearchart.keys import key_file
from clearchart.settings import Settings
from clearchart.temporal import address_of
from tests.conftest import REPO
from tests.support import LiveStack, Tenant


def clearchart(live: LiveStack, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "CLEARCHART_DATA_DIR"}
    return subprocess.run(
        [sys.executable, "-m", "clearchart.cli", *args], env={**base, "DATABASE_URL": live.settings.database_url, **env},
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


class TestDataDir:
    def test_the_default_is_the_checkouts_var_wherever_the_process_runs(self, tmp_path: Path) -> None:
        probe = "from clearchart.settings import Settings; from clearchart.keys import key_file; print(Settings().data_dir, key_file(Settings()))"
        env = {k: v for k, v in os.environ.items() if k != "CLEARCHART_DATA_DIR"}
        ran = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
        assert ran.stdout.split() == [str(REPO / "var"), str(REPO / "var" / "keys.json")]

    def test_a_relative_setting_is_made_absolute_once(self, tmp_path: Path) -> None:
        here = os.getcwd()
        os.chdir(tmp_path)
        try:
            settings = Settings(CLEARCHART_DATA_DIR="state")
        finally:
            os.chdir(here)
        assert settings.data_dir == tmp_path / "state"
        assert key_file(settings) == tmp_path / "state" / "keys.json"


class TestCommandsFromAnotherDirectory:
    async def test_policy_payer_codesets_and_audit_agree_with_the_stack(self, live: LiveStack, tenant: Tenant, tmp_path: Path) -> None:
        elsewhere, other = tmp_path / "a", tmp_path / "b"
        for directory in (elsewhere, other):
            directory.mkdir()

        async def run(cwd: Path, *args: str) -> str:
            done = await asyncio.to_thread(clearchart, live, cwd, *args)
            assert done.returncode == 0, f"{args}: {done.stdout}{done.stderr}"
            return done.stdout

        changed = await run(elsewhere, "tenant", "policy", "set", "--tenant", tenant.id, "lease_minutes=45", "--reason", "from another directory")
        assert "lease_minutes" in changed
        assert "45" in await run(other, "tenant", "policy", "show", "--tenant", tenant.id)
        await run(elsewhere, "payer", "add", "--tenant", tenant.id, "--id", "AETNA", "--name", "Aetna", "--filing", "CI")
        listed = (await run(other, "payer", "list", "--tenant", tenant.id)).splitlines()
        assert listed[0].split() == ["PAYER", "ID", "NAME", "X12", "ID", "FILING"]
        assert any(line.split() == ["AETNA", "Aetna", "AETNA", "CI"] for line in listed[1:]), listed
        as_json = await run(other, "payer", "list", "--tenant", tenant.id, "--json")
        assert '"payer_id": "AETNA"' in as_json
        assert "ICD-10-CM releases by date of service" in await run(other, "codesets", "status")
        # The policy change was sealed into the audit chain with the checkout's keys: it verifies.
        verified = await run(other, "audit", "verify", "--tenant", tenant.id)
        assert tenant.id in verified
        assert not any((d / "var").exists() for d in (elsewhere, other))


class TestTemporalAddress:
    def test_commands_reach_the_temporal_server_up_recorded(self, tmp_path: Path) -> None:
        settings = Settings(CLEARCHART_DATA_DIR=str(tmp_path), TEMPORAL_ADDRESS="", CLEARCHART_TEMPORAL_PORT=7233)
        assert address_of(settings) == "127.0.0.1:7233"
        (tmp_path / "temporal.address").write_text("127.0.0.1:18732\n")
        assert address_of(settings) == "127.0.0.1:18732"
        configured = settings.model_copy(update={"temporal_address": "temporal.internal:7233"})
        assert address_of(configured) == "temporal.internal:7233"
