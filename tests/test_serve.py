"""``omniretail serve`` on an address beyond this machine warns unless TLS or a trusted
proxy is configured (penetration test, finding 10). The server is not started: uvicorn's
``run`` is replaced by a recorder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from omniretail.commands import server
from omniretail.commands.main import app

WARNING = "without TLS"


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(server.uvicorn, "run", lambda _app, **kwargs: calls.append(kwargs))
    return calls


def serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    environment = {"OMNIRETAIL_DATA_DIR": str(tmp_path), "OMNIRETAIL_FORWARDED_ALLOW_IPS": ""}
    result = CliRunner().invoke(
        app, ["serve", "--db", db, *args], env={**environment, **(env or {})}
    )
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "shop.example.com"])
def test_serving_beyond_loopback_without_tls_or_a_proxy_warns(
    tmp_path: Path, started: list[dict[str, Any]], host: str
) -> None:
    result = serve(tmp_path, "--host", host)
    assert WARNING in result.output
    assert started[0]["host"] == host and started[0]["proxy_headers"] is False


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_loopback_needs_no_warning(
    tmp_path: Path, started: list[dict[str, Any]], host: str
) -> None:
    assert WARNING not in serve(tmp_path, "--host", host).output
    assert len(started) == 1


def test_tls_or_a_trusted_proxy_silences_the_warning(
    tmp_path: Path, started: list[dict[str, Any]]
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    with_tls = serve(
        tmp_path, "--host", "0.0.0.0", "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)
    )
    assert WARNING not in with_tls.output
    assert (started[0]["ssl_certfile"], started[0]["ssl_keyfile"]) == (str(cert), str(key))
    proxied = serve(
        tmp_path, "--host", "0.0.0.0", env={"OMNIRETAIL_FORWARDED_ALLOW_IPS": "10.0.0.5"}
    )
    assert WARNING not in proxied.output
    assert (started[1]["proxy_headers"], started[1]["forwarded_allow_ips"]) == (True, "10.0.0.5")
    flag = serve(tmp_path, "--host", "0.0.0.0", "--forwarded-allow-ips", "10.0.0.6")
    assert WARNING not in flag.output and started[2]["forwarded_allow_ips"] == "10.0.0.6"


def test_the_check_itself() -> None:
    assert server.exposure_warning("0.0.0.0", ssl_certfile=None, forwarded_allow_ips=None)
    assert server.exposure_warning("127.0.0.2", ssl_certfile=None, forwarded_allow_ips=None) is None
    assert server.exposure_warning("[::1]", ssl_certfile=None, forwarded_allow_ips=None) is None
