"""Without a mail server the demo prints one-time codes in the server's terminal log (a
warning), so a newcomer can verify a shop sign-up; everywhere else they stay withheld, and
they never reach the database or the message log."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from omniretail.bootstrap import Container, build_container
from omniretail.cli.context import CliRoot, open_container
from omniretail.demo.cli import DEMO_DEFAULTS, served_at
from omniretail.messaging.mail import Email, LoggingMailer, SmtpMailer
from omniretail.messaging.senders import LoggingSmsSender
from omniretail.messaging.wiring import build_senders
from omniretail.notifications import service as notifications
from omniretail.notifications.schemas import MessageQuery
from omniretail.settings import Settings
from tests.web.seed import Seeded
from tests.web.test_shop_account import NEW, SIX, enter_code, sign_up

CODE_MAIL = Email(to="a@example.com", subject="Your code", text="code 123456", sensitive=True)


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{r.levelname} {r.getMessage()}" for r in caplog.records)


def test_codes_are_withheld_unless_asked(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    LoggingMailer().send(CODE_MAIL)
    LoggingSmsSender().send("+447700900123", "code 654321", sensitive=True)
    assert "123456" not in logged(caplog) and "654321" not in logged(caplog)
    assert "withheld" in logged(caplog)
    caplog.clear()
    LoggingMailer(show_codes=True).send(CODE_MAIL)
    LoggingSmsSender(show_codes=True).send("+447700900123", "code 654321", sensitive=True)
    text = logged(caplog)
    assert "WARNING" in text and "123456" in text and "654321" in text  # reaches a terminal


@pytest.mark.parametrize(
    ("setting", "smtp", "shown"),
    [(None, None, False), (False, None, False), (True, None, True), (True, "mail.test", None)],
)
def test_the_setting_decides_and_a_mail_server_wins(
    tmp_path: Path, setting: bool | None, smtp: str | None, shown: bool | None
) -> None:
    settings = Settings(data_dir=tmp_path, log_one_time_codes=setting, smtp_host=smtp)
    mailer = build_senders(settings).mailer
    if shown is None:
        assert isinstance(mailer, SmtpMailer)
    else:
        assert isinstance(mailer, LoggingMailer) and mailer.show_codes is shown


def opened_as_the_demo(
    tmp_path: Path, env: dict[str, str], defaults: dict[str, Any] | None = None
) -> Settings:
    seen: dict[str, Settings] = {}
    cli = typer.Typer()

    @cli.callback()
    def root(ctx: typer.Context) -> None:
        ctx.obj = CliRoot(build=build_container, serve=lambda *_: None)

    @cli.command()
    def go() -> None:
        wanted = {**DEMO_DEFAULTS, **(defaults or {})}
        container = open_container(defaults=wanted, migrate=False, check=False)
        seen["settings"] = container.settings
        assert isinstance(container, Container)
        seen["mailer_shows"] = container.senders.mailer.show_codes  # type: ignore[attr-defined,assignment]
        container.dispose()

    base = {
        "OMNIRETAIL_DATA_DIR": str(tmp_path),
        "OMNIRETAIL_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
    }
    result = CliRunner().invoke(cli, ["go"], env={**base, **env})
    assert result.exit_code == 0, result.output
    return seen["settings"], seen["mailer_shows"]  # type: ignore[return-value]


def test_the_demo_shows_codes_unless_told_not_to(tmp_path: Path) -> None:
    settings, shows = opened_as_the_demo(tmp_path, {})
    assert settings.log_one_time_codes is True and shows is True
    settings, shows = opened_as_the_demo(tmp_path, {"OMNIRETAIL_LOG_ONE_TIME_CODES": "false"})
    assert settings.log_one_time_codes is False and shows is False


def test_the_demo_s_emails_link_to_its_own_server_unless_told_otherwise(tmp_path: Path) -> None:
    assert served_at("127.0.0.1", 8766) == "http://127.0.0.1:8766"
    assert served_at("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert served_at("::1", 9000) == "http://[::1]:9000"
    here = {"public_base_url": served_at("127.0.0.1", 8766)}
    settings, _shows = opened_as_the_demo(tmp_path, {}, here)
    assert settings.public_base_url == "http://127.0.0.1:8766"
    told = {"OMNIRETAIL_PUBLIC_BASE_URL": "https://shop.example.com"}
    settings, _shows = opened_as_the_demo(tmp_path, told, here)
    assert settings.public_base_url == "https://shop.example.com"


def test_a_shop_sign_up_code_is_in_the_log_only(
    container: Container, web: TestClient, seeded: Seeded, caplog: pytest.LogCaptureFixture
) -> None:
    container.senders.mailer = LoggingMailer(show_codes=True)
    caplog.set_level(logging.INFO)
    assert sign_up(web).status_code == 200
    container.relay().run_until_idle()
    found = SIX.search(logged(caplog).split(f"email to {NEW}", 1)[1])
    assert found is not None
    code = found.group(1)
    with container.read_uow() as uow:
        messages = notifications.list_messages(uow, MessageQuery(limit=500)).items
    assert all(code not in (m.body + (m.html_body or "")) for m in messages)
    assert enter_code(web, code).status_code == 303  # the code from the terminal works
