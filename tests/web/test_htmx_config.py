"""htmx runs under the pages' strict policy (``style-src 'self'``, nothing inline): its config
is on the page before htmx reads it, injects no indicator stylesheet and settles no ``style``
attribute (a swap would otherwise copy one a script set through the CSSOM, which the policy
refuses; tests/e2e/test_csp.py shows it in Chromium)."""

from __future__ import annotations

import json
import re


def test_every_page_configures_htmx_before_it_loads_and_allows_nothing_inline(web) -> None:
    page = web.get("/signin")
    assert page.status_code == 200
    html = page.text
    config = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", html)
    script = html.find('<script src="/static/htmx.min.js')
    assert config is not None and script > config.start()
    settings = json.loads(config.group(1))
    assert settings["includeIndicatorStyles"] is False
    assert settings["allowEval"] is False
    assert "style" not in settings["attributesToSettle"]
    assert "class" in settings["attributesToSettle"]  # the transitions still settle
    csp = page.headers["content-security-policy"]
    assert "style-src 'self';" in csp and "sha256" not in csp and "unsafe" not in csp
