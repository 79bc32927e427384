"""Console logs keep tracebacks but never the values of local variables (PHI may sit in them)."""

import logging
from collections.abc import Iterator

import pytest
import structlog

from clearchart.logging import configure_logging


@pytest.fixture
def console_logging(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    """The console pipeline for one test, writing to the captured stderr (so after `capsys`);
    the suite's own logging set-up afterwards."""
    root, client = logging.getLogger(), logging.getLogger("httpx")
    handlers, level, config, client_level = root.handlers[:], root.level, structlog.get_config(), client.level
    configure_logging(json_logs=False, level="INFO")
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    client.setLevel(client_level)
    structlog.configure(**config)


@pytest.mark.usefixtures("console_logging")
def test_a_logged_exception_shows_its_frames_but_not_their_locals(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        patient_name = "Jane Q Testpatient"
        raise ValueError(f"bad chart of length {len(patient_name)}")
    except ValueError:
        logging.getLogger("clearchart.test").exception("chart.failed")
    err = capsys.readouterr().err
    assert "chart.failed" in err
    assert "ValueError: bad chart of length 18" in err
    assert "Jane Q Testpatient" not in err


@pytest.mark.usefixtures("console_logging")
def test_outbound_requests_are_not_logged_one_by_one_but_their_failures_are(capsys: pytest.CaptureFixture[str]) -> None:
    logging.getLogger("httpx").info("HTTP Request: GET http://127.0.0.1:8000/sandbox/clearinghouse/v1/responses")
    logging.getLogger("httpx").warning("connection pool is full")
    err = capsys.readouterr().err
    assert "HTTP Request" not in err
    assert "connection pool is full" in err
