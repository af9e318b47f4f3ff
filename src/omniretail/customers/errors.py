from __future__ import annotations

from omniretail.kernel.errors import Conflict, InvalidRequest, NotFound


class UnknownCustomer(NotFound):
    slug = "unknown-customer"
    title = "Unknown customer"


class UnknownIdentity(NotFound):
    slug = "unknown-identity"
    title = "Unknown identity"


class UnknownMerge(NotFound):
    slug = "unknown-merge"
    title = "Unknown merge"


class UnknownReview(NotFound):
    slug = "unknown-review"
    title = "Unknown merge review"


class CustomerErased(Conflict):
    slug = "customer-erased"
    title = "The customer's personal data has been erased"
    status = 410


class AlreadyMerged(Conflict):
    slug = "already-merged"
    title = "The profiles are already one"


class MergeNotUndoable(Conflict):
    slug = "merge-not-undoable"
    title = "The merge cannot be undone"


class ReviewClosed(Conflict):
    slug = "review-closed"
    title = "The review has already been decided"


class ConsentRequired(Conflict):
    slug = "consent-required"
    title = "The customer has not given the consent this needs"
    status = 403


class UnknownCustomerInBatch(InvalidRequest):
    slug = "unknown-customer"
    title = "The batch names customers that do not exist"


class InvalidCustomerData(InvalidRequest):
    slug = "invalid-customer-data"
    title = "Invalid customer data"


class IdentityAlreadyVerified(Conflict):
    slug = "identity-already-verified"
    title = "The identity is already verified"


class NotVerifiableByCode(InvalidRequest):
    slug = "not-verifiable-by-code"
    title = "This kind of identity is not verified by a code"


class VerificationCodeInvalid(InvalidRequest):
    slug = "verification-code-invalid"
    title = "The verification code is wrong, used, expired or superseded"


class VerificationCodeLocked(Conflict):
    slug = "verification-attempts-exceeded"
    title = "Too many wrong codes: ask for a new one"
    status = 429


class VerificationRateLimited(Conflict):
    slug = "verification-rate-limited"
    title = "Too many codes asked for: wait before asking again"
    status = 429


class CodeSendsLimited(VerificationRateLimited):
    """One staff principal sent as many codes of a purpose as an hour allows, whoever to."""

    slug = "code-sends-limited"
    title = "Too many codes sent by this account this hour: wait before sending another"


class IdentityClaimsLimited(Conflict):
    """A signed-in customer added as many identifiers as a day allows
    (``identity_claims_per_day``)."""

    slug = "identity-claims-limited"
    title = "Too many identifiers added today: try again tomorrow"
    status = 429


class NotSelfClaimable(Conflict):
    """A customer adds their own email or phone only: a card number, a till's customer number,
    a device or an external id is recorded by staff or by the system that reads it."""

    slug = "not-self-claimable"
    title = "Customers add their own email or phone only"
    status = 403


class NoVerifiedContact(Conflict):
    slug = "no-verified-contact"
    title = "The customer has no verified email or phone to send a code to"
