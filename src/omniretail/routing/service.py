"""The routing face: the pure routing engine (which locations fulfil which lines), the routing
rules in force and their versions, plans from live stock and capacity, and promise dates."""

from __future__ import annotations

from omniretail.routing.engine import (
    DEFAULT_RULES,
    Decision,
    Inputs,
    Need,
    RouteRequest,
    RuleSet,
    Site,
    capacity_limited,
    route,
)
from omniretail.routing.methods import (
    COLLECT_AT_SOURCE,
    PICKUP_METHODS,
    FulfilmentMethod,
)
from omniretail.routing.planning import (
    capacity_left,
    decision_read,
    gather_inputs,
    get_rules,
    list_rules,
    locations,
    plan,
    rules_in_force,
    rules_version,
    save_rules,
    simulate,
    sites,
)
from omniretail.routing.promises import (
    OrderPolicy,
    Promise,
    local_day,
    opening_after,
    policy_from,
    promise,
    zone,
)
from omniretail.routing.repository import (
    give_back_capacity,
    take_capacity_if_left,
)

__all__ = [
    "COLLECT_AT_SOURCE",
    "DEFAULT_RULES",
    "PICKUP_METHODS",
    "Decision",
    "FulfilmentMethod",
    "Inputs",
    "Need",
    "OrderPolicy",
    "Promise",
    "RouteRequest",
    "RuleSet",
    "Site",
    "capacity_left",
    "capacity_limited",
    "decision_read",
    "gather_inputs",
    "get_rules",
    "give_back_capacity",
    "list_rules",
    "local_day",
    "locations",
    "opening_after",
    "plan",
    "policy_from",
    "promise",
    "route",
    "rules_in_force",
    "rules_version",
    "save_rules",
    "simulate",
    "sites",
    "take_capacity_if_left",
    "zone",
]
