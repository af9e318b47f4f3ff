"""``omniretail.auth.password_reset_asked``: keeps a reset code when the email asked for is a
customer's (``auth.password_reset.keep_code``). ``omniretail.auth.password_reset_code_requested``:
emails a customer's password reset code (``auth.password_reset``).
``omniretail.auth.sign_up_for_existing_account``: tells a customer that someone tried to sign
up with their email (``auth.sign_up``). The reset event carries only the code's row id; the
code is read from its ciphertext, sent, and the ciphertext blanked in the same transaction,
so a redelivery after that sends nothing. Expired, used, locked or superseded codes are
skipped."""

from __future__ import annotations

from omniretail.auth import repository as repo
from omniretail.auth.events import (
    PasswordResetAsked,
    PasswordResetCodeRequested,
    SignUpForExistingAccount,
)
from omniretail.auth.password_reset import CODE_FIELD, ResetCodeHasher, ResetPolicy, keep_code
from omniretail.customers import service as customers
from omniretail.kernel.keys import Keyring
from omniretail.kernel.vault import PiiVault, vault_for
from omniretail.messaging.handlers import EventMeta, HandlerRegistry, SkipDelivery, UowFactory
from omniretail.messaging.mail import Email
from omniretail.messaging.senders import Senders


def install(
    registry: HandlerRegistry,
    senders: Senders,
    keyring: Keyring,
    *,
    public_base_url: str,
    reset_policy: ResetPolicy,
) -> None:
    registry.on(
        PasswordResetAsked, "auth.keep_password_reset_code", ResetCodeKeeper(keyring, reset_policy)
    )
    registry.on(
        PasswordResetCodeRequested,
        "auth.send_password_reset_code",
        ResetCodeSender(senders, vault_for(keyring), public_base_url),
    )
    registry.on(
        SignUpForExistingAccount,
        "auth.tell_existing_account",
        ExistingAccountNotice(senders, vault_for(keyring), public_base_url),
    )


class ResetCodeKeeper:
    def __init__(self, keyring: Keyring, policy: ResetPolicy) -> None:
        self.vault = vault_for(keyring)
        self.hasher = ResetCodeHasher(keyring)
        self.policy = policy

    def __call__(self, event: PasswordResetAsked, meta: EventMeta, uow_factory: UowFactory) -> None:
        with uow_factory() as uow:
            kept = keep_code(
                uow, event.email_index, vault=self.vault, hasher=self.hasher, policy=self.policy
            )
        if kept is None:
            raise SkipDelivery("no code: not a customer's verified email, or asked too often")


class ResetCodeSender:
    def __init__(self, senders: Senders, vault: PiiVault, public_base_url: str) -> None:
        self.senders = senders  # read at send time: tests swap its members
        self.vault = vault
        self.page = public_base_url.rstrip("/") + "/signin/reset"

    def __call__(
        self, event: PasswordResetCodeRequested, meta: EventMeta, uow_factory: UowFactory
    ) -> None:
        code_id = event.code_id
        with uow_factory() as uow:
            row = repo.lock_reset_code(uow.session, code_id)
            if row is None or row.status != "pending" or row.code_enc is None:
                raise SkipDelivery(f"reset code #{code_id} was sent, used, superseded or erased")
            if uow.now >= row.expires_at:
                raise SkipDelivery(f"reset code #{code_id} expired before it could be sent")
            to = customers.identity_value(uow, row.identity_id, vault=self.vault)
            if to is None:
                raise SkipDelivery(f"reset code #{code_id}: its email is gone")
            code = self.vault.decrypt(CODE_FIELD, row.code_enc) or ""
            minutes = max(int((row.expires_at - uow.now).total_seconds()) // 60, 1)
            self.senders.mailer.send(
                Email(
                    to=to,
                    subject="Your Omniretail password reset code",
                    text=(
                        f"Your Omniretail password reset code is {code}. Enter it with a new"
                        f" password at {self.page} . It works once, for {minutes} minutes."
                        " Nobody from Omniretail will ask you for it; if you did not ask to"
                        " reset your password, ignore this message: your password is unchanged."
                    ),
                    message_id=f"<password-reset-code-{row.id}@omniretail>",
                    sensitive=True,
                )
            )
            row.code_enc, row.sent_at = None, uow.now


class ExistingAccountNotice:
    def __init__(self, senders: Senders, vault: PiiVault, public_base_url: str) -> None:
        self.senders = senders
        self.vault = vault
        self.base = public_base_url.rstrip("/")

    def __call__(
        self, event: SignUpForExistingAccount, meta: EventMeta, uow_factory: UowFactory
    ) -> None:
        with uow_factory() as uow:
            to = customers.identity_value(uow, event.identity_id, vault=self.vault)
        if not to:
            raise SkipDelivery(f"identity #{event.identity_id} is gone")
        self.senders.mailer.send(
            Email(
                to=to,
                subject="You already have an Omniretail account",
                text=(
                    "Someone, hopefully you, asked to open an Omniretail account with this email"
                    " address. You already have one, so nothing was created. Sign in at"
                    f" {self.base}/signin , or if you forgot your password, get a code at"
                    f" {self.base}/signin/forgot . If it was not you, ignore this message: your"
                    " account is unchanged."
                ),
                message_id=f"<sign-up-existing-{meta.id}@omniretail>",
            )
        )
