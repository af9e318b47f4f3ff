"""Customer and demand intelligence: analytics, segments, lifetime value and churn, demand
forecasts, replenishment policies and recommendations.

Batch jobs over the platform's own order history (``repository.load_transactions``) that write
their results back (``customer_scores``, ``product_forecasts``, ``recommendations``,
``product_associations``; reorder points into inventory through ``inventory.policies_bulk``).
Emits ``intelligence.scores_refreshed`` when a refresh lands.
"""
