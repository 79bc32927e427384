"""docker-compose.yml and the Dockerfile stay in step with Settings: no misspelled variables."""

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from clearchart.settings import Settings

REPO = Path(__file__).resolve().parents[2]
APP_SERVICES = ("api", "worker", "migrate")
REQUIRED_APP_ENV = {
    "DATABASE_URL",
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "CLEARCHART_TASK_QUEUE",
    "CLEARCHART_ENV",
    "CLEARCHART_SECRET_KEY",
    "CLEARCHART_JSON_LOGS",
    "CLEARCHART_CLEARINGHOUSE_URL",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def settings_aliases() -> set[str]:
    return {field.alias for field in Settings.model_fields.values() if field.alias}


class TestServices:
    def test_all_services_exist(self, services: dict[str, dict[str, Any]]) -> None:
        assert set(services) >= {"postgresql", "temporal", "temporal-ui", *APP_SERVICES}

    @pytest.mark.parametrize("name", APP_SERVICES)
    def test_app_services_build_from_the_dockerfile(
        self, services: dict[str, dict[str, Any]], name: str
    ) -> None:
        build = services[name]["build"]
        assert build["context"] == "."
        assert build["dockerfile"] == "Dockerfile"

    @pytest.mark.parametrize(
        ("name", "command"),
        [("api", "api"), ("worker", "worker"), ("migrate", "migrate")],
    )
    def test_app_services_run_their_clearchart_command(
        self, services: dict[str, dict[str, Any]], name: str, command: str
    ) -> None:
        assert services[name]["command"] == ["clearchart", command]

    def test_postgresql_is_version_15_with_a_volume_and_healthcheck(
        self, services: dict[str, dict[str, Any]]
    ) -> None:
        postgresql = services["postgresql"]
        assert postgresql["image"] == "postgres:15"
        assert any(v.endswith(":/var/lib/postgresql/data") for v in postgresql["volumes"])
        assert "healthcheck" in postgresql

    def test_temporal_persists_to_the_postgresql_service(
        self, services: dict[str, dict[str, Any]]
    ) -> None:
        temporal = services["temporal"]
        env = temporal["environment"]
        assert temporal["image"].startswith("temporalio/auto-setup:")
        assert env["DB"] == "postgres12"
        assert env["POSTGRES_SEEDS"] == "postgresql"
        assert env["DB_PORT"] == "5432"
        assert env["POSTGRES_USER"] == services["postgresql"]["environment"]["POSTGRES_USER"]
        assert env["POSTGRES_PWD"] == services["postgresql"]["environment"]["POSTGRES_PASSWORD"]
        assert temporal["depends_on"]["postgresql"]["condition"] == "service_healthy"
        assert "healthcheck" in temporal

    def test_temporal_ui_points_at_temporal(self, services: dict[str, dict[str, Any]]) -> None:
        ui = services["temporal-ui"]
        assert ui["image"].startswith("temporalio/ui:")
        assert ui["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"

    def test_api_and_worker_wait_for_migrations_and_temporal(
        self, services: dict[str, dict[str, Any]]
    ) -> None:
        for name in ("api", "worker"):
            depends = services[name]["depends_on"]
            assert depends["migrate"]["condition"] == "service_completed_successfully"
            assert depends["temporal"]["condition"] == "service_healthy"
        assert services["migrate"]["depends_on"]["postgresql"]["condition"] == "service_healthy"

    def test_workers_are_replicated(self, services: dict[str, dict[str, Any]]) -> None:
        assert services["worker"]["deploy"]["replicas"] >= 2

    def test_published_ports(self, services: dict[str, dict[str, Any]]) -> None:
        assert services["api"]["ports"] == ["8000:8000"]
        assert services["temporal-ui"]["ports"] == ["8080:8080"]
        assert "ports" not in services["postgresql"]  # reachable only inside the compose network
        assert "ports" not in services["worker"]  # replicas cannot share a host port


class TestAppEnvironment:
    @pytest.mark.parametrize("name", APP_SERVICES)
    def test_every_variable_is_a_settings_alias(
        self, services: dict[str, dict[str, Any]], name: str
    ) -> None:
        unknown = set(services[name]["environment"]) - settings_aliases()
        assert not unknown, f"{name} sets variables Settings does not read: {sorted(unknown)}"

    @pytest.mark.parametrize("name", APP_SERVICES)
    def test_required_variables_are_set(
        self, services: dict[str, dict[str, Any]], name: str
    ) -> None:
        env = services[name]["environment"]
        assert set(env) >= REQUIRED_APP_ENV
        assert env["CLEARCHART_ENV"] == "production"
        assert env["CLEARCHART_JSON_LOGS"] == "true"
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
        assert "@postgresql:5432/" in env["DATABASE_URL"]

    def test_secret_key_must_come_from_the_environment(
        self, services: dict[str, dict[str, Any]]
    ) -> None:
        for name in APP_SERVICES:
            assert services[name]["environment"]["CLEARCHART_SECRET_KEY"].startswith(
                "${CLEARCHART_SECRET_KEY:?"
            )

    def test_api_listens_on_all_interfaces_on_its_published_port(
        self, services: dict[str, dict[str, Any]]
    ) -> None:
        env = services["api"]["environment"]
        assert env["CLEARCHART_API_HOST"] == "0.0.0.0"
        assert env["CLEARCHART_API_PORT"] == "8000"

    def test_settings_accept_the_compose_environment(
        self, services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for key, value in services["api"]["environment"].items():
            value = re.sub(r"\$\{CLEARCHART_CLEARINGHOUSE_URL:\?[^}]*\}", "https://clearinghouse.invalid", value)
            monkeypatch.setenv(key, re.sub(r"\$\{CLEARCHART_[A-Z_]+:\?[^}]*\}", "s3cret", value))
        monkeypatch.chdir(REPO / "tests")  # no stray .env file

        settings = Settings()

        assert settings.environment == "production"
        assert settings.json_logs is True
        assert settings.sqlalchemy_url.startswith("postgresql+psycopg://")
        assert settings.clearinghouse == "https://clearinghouse.invalid"

    def test_production_refuses_to_run_without_a_real_clearinghouse(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CLEARCHART_ENV", "production")
        monkeypatch.setenv("CLEARCHART_SECRET_KEY", "s3cret")
        monkeypatch.delenv("CLEARCHART_CLEARINGHOUSE_URL", raising=False)
        monkeypatch.chdir(REPO / "tests")
        with pytest.raises(ValueError, match="CLEARCHART_CLEARINGHOUSE_URL"):
            Settings()


class TestDockerfile:
    def test_installs_with_the_constraints_file(self) -> None:
        dockerfile = (REPO / "Dockerfile").read_text()
        assert "FROM python:3.11-slim" in dockerfile
        assert "pip install -c constraints.txt ." in dockerfile
        assert (REPO / "constraints.txt").exists()

    def test_runs_as_a_non_root_user_and_defaults_to_the_api(self) -> None:
        lines = (REPO / "Dockerfile").read_text().splitlines()
        users = [line.split()[1] for line in lines if line.startswith("USER ")]
        assert users
        assert users[-1] not in {"root", "0"}
        assert lines[-1] == 'CMD ["clearchart", "api"]'

    def test_dockerignore_keeps_local_state_and_secrets_out(self) -> None:
        ignored = set((REPO / ".dockerignore").read_text().splitlines())
        assert {".venv", "var", ".env", ".git"} <= ignored


def compose_plugin_available() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not compose_plugin_available(), reason="docker compose plugin not installed")
def test_docker_compose_config_accepts_the_file() -> None:
    env = {
        **os.environ,
        "CLEARCHART_SECRET_KEY": "x" * 32,
        "POSTGRES_PASSWORD": "pw",
        "CLEARCHART_CLEARINGHOUSE_URL": "https://clearinghouse.invalid",
        "CLEARCHART_CLEARINGHOUSE_API_KEY": "k",
    }
    result = subprocess.run(
        ["docker", "compose", "-f", str(REPO / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
