"""The web console: server-rendered pages (Jinja2, HTMX for partial updates) for three
audiences on top of the same domain services the API uses.

* HQ console (``/hq``, ``web.hq``): dashboard, inventory grid and ledger, transfers, orders,
  routing rules with the simulator, customer 360 with merges, the loyalty programme,
  replenishment.
* Store associate app (``/store``, ``web.store``, phone first): the store's pickups and
  ship-from-store work, handover with the pickup code, order look-up for returns, "find it
  elsewhere" with ordering into the customer's cart, loyalty look-up and redemption.
* Customer pages (``/shop``, ``/account``, ``web.shop``): availability near you, orders and
  tracking, points and tier progress, consent preferences, a data-export request.

Sign-in keeps the platform's own bearer token in an HttpOnly, SameSite=Lax cookie; every form
that changes something carries a CSRF token bound to that session. Pages hold no business
rules: they parse a form into the API's schema, are authorised as the API operation they stand
for (``auth.access.decide``, the API's own decision), call the domain service, and show the
service's problem message beside the field it names. Static files (CSS, htmx) are served from
the installed package, never from another site.

The package root holds the kit every audience shares: ``deps`` (viewer, authorisation,
rendering, changes), ``forms``, ``rendering``, ``session``, ``jobs``, ``charts``, ``steps``
(fulfilment steps from a form, for HQ and the store), ``lookup`` (a customer from a form),
``signin`` (the pages before a session) and ``router`` (``install_web``).
"""
