"""The import rules of the code, checked on its source (no database).

- Layers: records -> roles -> courses -> hipaa_training. An app imports only apps to its right; the project's
  wiring (`hipaa_training.settings`, `urls`, `celery`) names every app and is the one exception.
- No cycles inside an app, counting imports inside functions too: hiding a cycle in a lazy import is still a cycle.
  The one way round is the tasks rule: services import their app's `tasks` at module level and queue on commit; a
  task imports the service it runs inside its body. So only imports inside the functions of a `tasks` module are
  left out of the graph.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["records", "roles", "courses", "hipaa_training"]
WIRING = {"hipaa_training.settings", "hipaa_training.urls", "hipaa_training.celery"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> dict[str, Path]:
    found = {}
    for app in LAYERS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


MODULES = sources()


def _imports(module: str, path: Path) -> Iterator[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for every import of one of our apps in `module`."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    functions = {
        id(node)
        for fn in ast.walk(tree)
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(fn)
        if isinstance(node, ast.Import | ast.ImportFrom)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] in LAYERS:
                while target not in MODULES and "." in target:
                    target = target.rpartition(".")[0]
                yield target, node.lineno, id(node) in functions


def test_each_app_imports_only_the_apps_to_its_right():
    wrong = []
    for module, path in MODULES.items():
        if module in WIRING:
            continue
        mine = LAYERS.index(module.split(".")[0])
        for target, line, _ in _imports(module, path):
            theirs = LAYERS.index(target.split(".")[0])
            if theirs < mine:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not wrong, "imports against the layer order records -> roles -> courses -> hipaa_training:\n" + "\n".join(
        wrong
    )


def test_no_import_cycles_inside_an_app():
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        is_tasks = module.rpartition(".")[2] == "tasks"
        for target, _, in_function in _imports(module, path):
            if target != module and target.split(".")[0] == module.split(".")[0] and not (is_tasks and in_function):
                graph[module].add(target)
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_services_import_tasks_at_module_level():
    lazy = [
        f"{path.relative_to(ROOT)}:{line} imports {target} inside a function"
        for module, path in MODULES.items()
        for target, line, in_function in _imports(module, path)
        if in_function and target.rpartition(".")[2] == "tasks" and module.rpartition(".")[2] != "tasks"
    ]
    assert not lazy, "queue tasks from a module-level import (the task imports the service lazily):\n" + "\n".join(lazy)


def test_the_checks_see_the_code():
    """A check that finds no modules or no imports passes for the wrong reason."""
    assert {"records.services", "roles.reminders.mailer", "courses.loader", "hipaa_training.audit"} <= set(MODULES)
    targets = {t for m, p in MODULES.items() for t, _, _ in _imports(m, p)}
    assert {"roles.models", "roles.reminders.claims", "hipaa_training.audit", "courses.models"} <= targets
