"""Phasegate's front door: the CLI, the webhook API and the demo."""

import os

# Quiet, telemetry-free Prefect unless the user chose otherwise; a temporary local server
# needs more than the default 20 s to start on a 2-core machine.
for _key, _value in {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
}.items():
    os.environ.setdefault(_key, _value)
