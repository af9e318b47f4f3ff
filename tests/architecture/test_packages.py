"""The package structure (issue 12): the top-level packages import each other without a cycle,
a package is used from outside only through its public face, and no module outside
``migrations`` passes 600 lines. The checks are in
``scripts/check_structure.py``, which ``scripts/check`` runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_structure.py"
_spec = importlib.util.spec_from_file_location("check_structure", SCRIPT)
assert _spec is not None and _spec.loader is not None
structure = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(structure)


def test_the_cycle_finder_names_a_cycle_and_passes_a_tree():
    assert structure.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c", "a"]
    ]
    assert structure.cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_top_level_packages_import_each_other_without_a_cycle():
    graph = structure.package_graph()
    assert {"api", "cli", "commands", "runtime", "processes", "bootstrap"} <= set(graph)
    found = structure.cycles(graph)
    assert found == [], "import cycles: " + "; ".join(" -> ".join(c) for c in found)


def test_the_kits_and_the_runtime_never_import_the_composition_root_or_a_domain():
    graph = structure.package_graph()
    for kit in ("api", "cli", "runtime"):
        assert graph[kit] <= {"api", "cli", "runtime", "db", "kernel", "settings"}, kit


def test_the_long_module_finder_counts_lines(tmp_path):
    package = tmp_path / "pkg"
    (package / "migrations").mkdir(parents=True)
    (package / "long.py").write_text("x = 1\n" * 601)
    (package / "short.py").write_text("x = 1\n" * 600)
    (package / "migrations" / "old.py").write_text("x = 1\n" * 900)
    assert structure.long_modules(package) == {"pkg/long.py": 601}


def test_no_module_outside_migrations_passes_600_lines():
    assert structure.long_modules() == {}


def test_packages_reach_each_other_only_through_their_public_faces():
    assert structure.face_violations() == []


def test_the_face_check_finds_a_private_import(monkeypatch):
    """A module of one domain importing another domain's repository is reported."""

    class Graph:
        modules = {"omniretail.loyalty.service", "omniretail.customers.repository"}

        def find_modules_directly_imported_by(self, module):
            return {"omniretail.customers.repository"} if "loyalty" in module else set()

    monkeypatch.setattr(structure.grimp, "build_graph", lambda _package: Graph())
    assert structure.face_violations() == [
        ("omniretail.loyalty.service", "omniretail.customers.repository")
    ]
