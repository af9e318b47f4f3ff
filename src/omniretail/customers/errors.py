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
