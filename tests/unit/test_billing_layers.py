"""The clearinghouse poller is a background process: it must not pull in the HTTP API's modules."""

import subprocess
import sys


def test_the_poller_and_the_billing_services_import_nothing_from_the_api() -> None:
    probe = (
        "import sys, clearchart.billing_poller, services.billing_intake, services.claim_acks, services.appeals_after_close\n"
        "print(sorted(m for m in sys.modules if m == 'api' or m.startswith('api.')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"
