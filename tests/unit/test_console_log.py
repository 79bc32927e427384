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
    root = logging.getLogger()
    handlers, level, config = root.handlers[:], root.level, structlog.get_config()
    configure_logging(json_logs=False, level="INFO")
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
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
