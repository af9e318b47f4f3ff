"""How the composition root builds messaging from settings (called by ``bootstrap``)."""

from __future__ import annotations

from datetime import timedelta

from omniretail.messaging.handlers import HandlerRegistry, UowFactory
from omniretail.messaging.jetstream import JetStreamSink
from omniretail.messaging.mail import LoggingMailer, Mailer, SmtpConfig, SmtpMailer
from omniretail.messaging.relay import Relay, RetryPolicy
from omniretail.messaging.senders import LoggingSmsSender, Senders
from omniretail.settings import Settings


def show_codes(settings: Settings) -> bool:
    """One-time codes go to the terminal log only when asked and no mail server is set."""
    return bool(settings.log_one_time_codes) and not settings.smtp_host


def build_mailer(settings: Settings) -> Mailer:
    """SMTP when ``smtp_host`` is set; otherwise emails are written to the log."""
    if not settings.smtp_host:
        return LoggingMailer(show_codes=show_codes(settings))
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpMailer(
        SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=password,
            timeout_seconds=settings.smtp_timeout_seconds,
        )
    )


def build_senders(settings: Settings) -> Senders:
    return Senders(
        mailer=build_mailer(settings), sms=LoggingSmsSender(show_codes=show_codes(settings))
    )


def build_relay(
    settings: Settings,
    uow_factory: UowFactory,
    registry: HandlerRegistry,
    read_uow_factory: UowFactory | None = None,
) -> Relay:
    """``read_uow_factory``: units of work for the idle probe (reads: on PostgreSQL in
    autocommit, on SQLite without the write lock)."""
    return Relay(
        uow_factory,
        registry,
        read_uow_factory=read_uow_factory,
        policy=RetryPolicy(
            max_attempts=settings.relay_max_attempts,
            base_seconds=settings.relay_backoff_base_seconds,
            cap_seconds=settings.relay_backoff_cap_seconds,
        ),
        batch_size=settings.relay_batch_size,
        lease=timedelta(seconds=settings.relay_lease_seconds),
        linger_seconds=settings.relay_linger_seconds,
    )


def build_jetstream_sink(settings: Settings) -> JetStreamSink | None:
    """The NATS JetStream sink when ``nats_url`` is set (off otherwise)."""
    if not settings.nats_url:
        return None
    return JetStreamSink(
        settings.nats_url,
        prefix=settings.nats_subject_prefix,
        stream=settings.nats_stream,
        timeout=settings.nats_timeout_seconds,
        duplicate_window=settings.nats_duplicate_window_seconds,
    )
