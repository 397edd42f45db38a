"""The dependency direction of docs/architecture.md, held by a test: each app imports only the
apps below it (function-level imports included), and no module imports itself back through
others. A new arrow is a design decision: make it here, with its reason, and in the doc."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)

# What each app may import, of ours. Bottom first.
MAY_IMPORT: dict[str, set[str]] = {
    "common": {"config"},  # config.celery, for the queue depths in /metrics
    "changelog": {"common"},  # below every domain app: they record through it
    "audit": {"common"},  # below every domain app too: they write the audit log through it
    "accounts": {"common", "changelog", "audit"},
    "organizations": {"accounts", "common", "changelog", "audit"},
    "tracking": {"organizations", "accounts", "common", "changelog", "audit"},
    "activity": {"organizations", "accounts", "common", "changelog", "audit"},
    "screenshots": {"tracking", "organizations", "accounts", "common", "changelog", "audit"},
    "reports": {"tracking", "activity", "screenshots", "organizations", "accounts", "common", "changelog", "audit"},
    "sync": {"tracking", "organizations", "accounts", "common", "changelog", "audit"},
    "realtime": {"sync", "organizations", "accounts", "common", "changelog"},
    # Imports write entries as tracking's bulk path does, structure through the services, and
    # ActivityWatch/WakaTime files through activity's intake services (one path for their rules).
    "imports": {"tracking", "activity", "organizations", "accounts", "common", "changelog", "audit"},
    # On top: the audit log's API and admin (and, later, webhooks) read every app's rules.
    "integrations": {"tracking", "organizations", "accounts", "common", "changelog", "audit"},
    "stack": {"tracking", "activity", "screenshots", "organizations", "accounts", "common", "changelog", "config"},
    "config": {"activity", "realtime", "sync", "common"},  # asgi.py mounts the lean paths and the sockets
}
# Arrows that point the wrong way today, each with its reason; the list only shrinks.
KNOWN_EXCEPTIONS = {
    # Registration with an invitation token joins the inviting company in the same transaction
    # (SPEC Accounts: invitation_token), and the sign-up pages render company names. A personal
    # access token may be bound to a company its user is an active member of (checked when it
    # is created), and the Settings page offers the user's companies to bind it to.
    ("accounts", "organizations"),
    # The Idempotency-Key record belongs to the user who sent it.
    ("common", "accounts"),
}


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """Every import in ``path``, at any depth (function-level imports count), as ``(module,
    names)``: ``import a.b`` is ``("a.b", [])``, ``from a import b, c`` is ``("a", ["b", "c"])``."""
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names]))
    return found


def _app_modules() -> dict[str, Path]:
    modules = {}
    for app in MAY_IMPORT:
        for path in (ROOT / app).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "tests" in parts or "migrations" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def test_every_app_imports_only_the_apps_below_it():
    wrong = set()
    for name, path in _app_modules().items():
        app = name.split(".")[0]
        for imported, _ in _imports(path):
            target = imported.split(".")[0]
            allowed = target == app or target in MAY_IMPORT[app] or (app, target) in KNOWN_EXCEPTIONS
            if target in MAY_IMPORT and not allowed:
                wrong.add(f"{name} imports {imported}")
    assert not wrong, "imports against the dependency direction (docs/architecture.md):\n" + "\n".join(sorted(wrong))


def test_the_known_exceptions_still_exist():
    """An exception that is gone must leave the list (so the list only ever shrinks)."""
    used = set()
    for name, path in _app_modules().items():
        app = name.split(".")[0]
        used.update((app, imported.split(".")[0]) for imported, _ in _imports(path))
    assert used >= KNOWN_EXCEPTIONS


def test_no_module_imports_itself_back():
    modules = _app_modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for module, names in _imports(path):
            # "from a import b" depends on the module a.b when there is one, else on a itself
            submodules = {f"{module}.{n}" for n in names} & modules.keys()
            targets = submodules | ({module} if len(submodules) < len(names) or not names else set())
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    # The one accepted pair (ARCHITECTURE): an app's services enqueue its own tasks, which call
    # those services back (a function-level import in the service).
    accepted = {(f"{app}.services", f"{app}.tasks") for app in MAY_IMPORT}
    accepted |= {(b, a) for a, b in accepted}
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                if not (len(cycle) == 3 and (cycle[0], cycle[1]) in accepted):
                    cycles.append(" -> ".join(cycle))
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(modules):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
