"""`phasegate webhook`: its options, and the app it serves."""

import importlib
from typing import Any

import pytest
import typer
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from phasegate.cli.webhook import webhook_command
from phasegate.webhook_server import ReadTimeoutProtocol
from state.settings import Settings
from tests.phasegate import webhook_client
from tests.phasegate.webhook_client import ACTIVE


def test_webhook_command_offers_host_port_and_workers_options() -> None:
    app = typer.Typer()
    app.command()(webhook_command)
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "--host" in result.output
    assert "--port" in result.output
    assert "--workers" in result.output


def test_webhook_command_serves_the_app_and_warns_without_secret(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.update(app=app, **options))
    webhook_command(host="127.0.0.1", port=9999, workers=3)
    assert "PHASEGATE_WEBHOOK_SECRET is not set" in capsys.readouterr().err
    assert (served["host"], served["port"], served["access_log"]) == ("127.0.0.1", 9999, False)
    assert (served["workers"], served["limit_concurrency"]) == (3, settings.webhook_max_connections)
    assert served["http"] is ReadTimeoutProtocol
    module, factory = served["app"].split(":")
    assert served["factory"] is True
    client = TestClient(getattr(importlib.import_module(module), factory)())
    assert client.get("/healthz").status_code == 200
    assert webhook_client.error(webhook_client.get(client, ACTIVE)) == (
        503,
        "secret_not_configured",
    )
