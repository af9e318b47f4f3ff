"""The PostgreSQL reset between tests (tests/conftest.py ``_truncate_all``) empties what a
test wrote, restarts the identities it used and puts changed seed rows back, so the next test
starts from the migrated schema whatever order the tests run in."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from omniretail.bootstrap import build_container
from omniretail.settings import Settings
from tests.conftest import _CLEAN, _SEEDED, TEST_SECRET_KEY, _truncate_all
from tests.factories import make_network, receive


def test_a_reset_leaves_nothing_a_test_wrote(pg_schema: tuple[str, str], tmp_path: Path) -> None:
    url, schema = pg_schema
    container = build_container(
        Settings(
            database_url=url,
            database_schema=schema,
            data_dir=tmp_path,
            secret_key=TEST_SECRET_KEY,  # type: ignore[arg-type]
        )
    )
    try:
        _truncate_all(container)
        make_network(container)
        receive(container, "10001", "DC1", 5)
        with container.engine.begin() as conn:
            conn.execute(text("UPDATE tax_rates SET rate = rate / 2"))
            conn.execute(
                text("DELETE FROM tax_classes WHERE code NOT IN (SELECT tax_class FROM tax_rates)")
            )

        _truncate_all(container)

        with container.engine.begin() as conn:
            assert _CLEAN[schema].dirty_tables(conn) == []
            counts = conn.execute(
                text("SELECT (SELECT count(*) FROM skus), (SELECT count(*) FROM stock_movements)")
            ).one()
            assert tuple(counts) == (0, 0)
            rates = conn.execute(text("SELECT * FROM tax_rates ORDER BY id")).mappings().all()
            assert [{k: v for k, v in r.items() if k != "id"} for r in rates] == _SEEDED[
                "tax_rates"
            ]
            assert [r["id"] for r in rates] == list(range(1, len(rates) + 1))
        make_network(container)
        receive(container, "10001", "DC1", 1)
        with container.engine.connect() as conn:
            first = conn.execute(text("SELECT min(id) FROM stock_movements")).scalar_one()
        assert first == 1
    finally:
        _truncate_all(container)
        container.dispose()
