"""`phasegate webhook`: its options, and the app it serves."""

from typing import Any

import pytest
import typer
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from phasegate.cli.webhook import webhook_command
from state.settings import Settings
from tests.phasegate import webhook_client
from tests.phasegate.webhook_client import ACTIVE


def test_webhook_command_offers_host_and_port_options() -> None:
    app = typer.Typer()
    app.command()(webhook_command)
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "--host" in result.output
    assert "--port" in result.output


def test_webhook_command_serves_the_app_and_warns_without_secret(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.update(app=app, **options))
    webhook_command(host="127.0.0.1", port=9999)
    assert "PHASEGATE_WEBHOOK_SECRET is not set" in capsys.readouterr().err
    assert (served["host"], served["port"], served["access_log"]) == ("127.0.0.1", 9999, False)
    client = TestClient(served["app"])
    assert client.get("/healthz").status_code == 200
    assert webhook_client.error(webhook_client.get(client, ACTIVE)) == (
        503,
        "secret_not_configured",
    )
