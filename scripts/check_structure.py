"""Structure checks: the top-level packages of ``omniretail`` import each other without a
cycle, a package is used from outside only through its public face, and no module outside
``migrations`` passes 600 lines.

Run from the repository root: ``PYTHONPATH=src python scripts/check_structure.py``; it prints
every cycle and every long module and exits 1 if there is any."""

from __future__ import annotations

import sys
from pathlib import Path

import grimp

PACKAGE = "omniretail"
SRC = Path(__file__).resolve().parent.parent / "src"
MAX_LINES = 600
EXEMPT = ("migrations",)  # the schema history is written once and never edited


def package_graph() -> dict[str, set[str]]:
    """Top-level package -> the top-level packages it imports (lazy imports included)."""
    graph = grimp.build_graph(PACKAGE)
    tops = sorted(m.rpartition(".")[2] for m in graph.find_children(PACKAGE))
    return {
        a: {
            b
            for b in tops
            if a != b
            and graph.direct_import_exists(
                importer=f"{PACKAGE}.{a}", imported=f"{PACKAGE}.{b}", as_packages=True
            )
        }
        for a in tops
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(_cycle_through(graph, sorted(component)))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _cycle_through(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A concrete cycle inside a strongly connected component, e.g. ``[a, b, a]``."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & members):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    return component  # unreachable for a strongly connected component


# The public face of a package: its ``__init__`` and these modules. The edges that mount and
# wire the packages may also import their routers, commands, handlers, tables and jobs.
FACE = {"service", "schemas", "events", "errors"}
EDGES = {"__main__", "app", "bootstrap", "commands", "migrations", "demo", "web"}
# Edges that only the entry points use: nothing else imports them, so they need no face.
TOP = {"__main__", "app", "bootstrap", "commands", "migrations", "demo", "web"}
EDGE_FACE = FACE | {"api", "cli", "handlers", "models", "jobs", "tasks", "web"}
# The process layer is made of use cases: every module is public but its tables and queries.
PROCESSES = {"processes", "auth"}
PROCESS_PRIVATE = {"models", "repository"}
# Kits any package may use whole: infrastructure has no face to hide behind.
KITS = {"api", "cli", "db", "jobs", "kernel", "messaging", "runtime", "settings"}
# Read models and bulk loaders that query or fill another domain's tables directly, by design:
# importer package -> the ``models`` modules it may import.
TABLE_READERS = {
    "history": {"catalog", "customers", "orders", "fulfilment", "carts", "routing"},
    "intelligence": {"catalog", "customers", "orders", "fulfilment", "carts", "routing"},
    # Segment facts (``marketing.segments_facts``): one query per source for a batch.
    "marketing": {"customers", "orders", "carts", "loyalty", "intelligence", "catalog"},
    "inventory": {"catalog"},
    "loyalty": {"catalog", "orders"},
    "carts": {"catalog"},
    "pricing": {"catalog"},
    "orders": {"catalog"},
    "fulfilment": {"orders"},
    # Orders placed in a period, the denominator of where-is-my-order contacts per 100 orders.
    "support": {"orders"},
}


def face_violations() -> list[tuple[str, str]]:
    """(importer, imported) pairs where a package reaches a private module of another one."""
    graph = grimp.build_graph(PACKAGE)
    found = []
    for importer in sorted(graph.modules):
        parts = importer.split(".")
        if len(parts) < 2:
            continue
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            target = imported.split(".")
            if len(target) < 3 or target[1] == parts[1] or target[1] in KITS:
                continue
            if parts[1] in EDGES and target[1] in TOP:
                continue
            if target[1] in PROCESSES and target[2] not in PROCESS_PRIVATE:
                continue
            allowed = EDGE_FACE if parts[1] in EDGES else FACE
            if len(target) == 3 and target[2] in allowed:
                continue
            if target[2:] == ["models"] and target[1] in TABLE_READERS.get(parts[1], set()):
                continue
            found.append((importer, imported))
    return found


def long_modules(root: Path = SRC / PACKAGE) -> dict[str, int]:
    """Modules over ``MAX_LINES`` lines, outside the exempt packages: path -> lines."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] in EXEMPT:
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            found[str(path.relative_to(root.parent))] = lines
    return found


def main() -> int:
    failed = False
    for cycle in cycles(package_graph()):
        print("import cycle: " + " -> ".join(cycle))
        failed = True
    for importer, imported in face_violations():
        print(f"{importer} imports {imported}: use its package's public face")
        failed = True
    for path, lines in long_modules().items():
        print(f"{path}: {lines} lines (at most {MAX_LINES})")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
