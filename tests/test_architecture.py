"""The map in docs/architecture.md stays true: every import in policy_gate/ (lazy ones
included) goes down the documented layers, no function is over 80 lines and no module over
800."""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "policy_gate"

# layer -> its modules (a name or a package prefix, relative to policy_gate)
LAYERS: dict[str, tuple[str, ...]] = {
    "base": ("base",),
    "model": ("findings", "packages", "results", "catalogue", "exit_codes"),
    "data": ("advisories", "dependencies", "osv"),
    "policy": ("policy",),
    "scanners": ("scanners",),
    "run": ("runner", "cache", "history"),
    "reports": ("reports", "compliance"),
    "org": ("org",),
    "gate": ("gate", "base_inputs"),
    "front": ("cli", "cli_aggregate", "cli_output", "action_entrypoint", "github", "init_repo",
              "__main__"),
}
ALLOWED: dict[str, frozenset[str]] = {
    "base": frozenset(),
    "model": frozenset({"base"}),
    "data": frozenset({"base", "model"}),
    "policy": frozenset({"base", "model", "data"}),
    "scanners": frozenset({"base", "model", "data"}),
    "run": frozenset({"base", "model", "data", "policy", "scanners"}),
    "reports": frozenset({"base", "model", "data", "policy"}),
    "org": frozenset({"base", "model", "reports"}),
    "gate": frozenset({"base", "model", "data", "policy", "scanners", "run", "reports"}),
    "front": frozenset(LAYERS) - {"front"},
}
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 800

def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def layer_of(name: str) -> str | None:
    """The layer of a module named relative to policy_gate ('' is the package itself)."""
    for layer, prefixes in LAYERS.items():
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return layer
    return None


def imported(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, module relative to policy_gate) for every import of the gate's own modules."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "policy_gate":
                for alias in node.names:  # `from policy_gate import runner`
                    yield node.lineno, alias.name
            elif node.module.startswith("policy_gate."):
                yield node.lineno, node.module.removeprefix("policy_gate.")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("policy_gate."):
                    yield node.lineno, alias.name.removeprefix("policy_gate.")


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    unplaced = [module_name(p) for p in sources()
                if module_name(p) and layer_of(module_name(p)) is None]
    assert unplaced == [], f"modules in no layer of docs/architecture.md: {unplaced}"


def wrong_imports() -> dict[tuple[str, str], str]:
    """(module, imported module) -> where, for every import against the map."""
    wrong: dict[tuple[str, str], str] = {}
    for path in sources():
        here = module_name(path)
        mine = layer_of(here) if here else "front"
        assert mine is not None
        for line, target in imported(ast.parse(path.read_text(encoding="utf-8"))):
            theirs = layer_of(target)
            if theirs is None:  # the package's own __init__ names (its version)
                assert not (PACKAGE / target.replace(".", "/")).exists(), target
                continue
            if theirs != mine and theirs not in ALLOWED[mine]:
                wrong[here, target] = (f"policy_gate/{path.relative_to(PACKAGE)}:{line}: "
                                       f"{mine} imports {theirs} ({target})")
    return wrong


def test_imports_follow_the_documented_order() -> None:
    wrong = list(wrong_imports().values())
    assert wrong == [], "imports against docs/architecture.md:\n" + "\n".join(wrong)


def test_the_layers_form_no_cycle() -> None:
    """ALLOWED itself is an order: no layer may import one that may import it."""
    for layer, below in ALLOWED.items():
        for other in below - {layer}:
            assert layer not in ALLOWED[other], (layer, other)


def test_no_module_import_cycle() -> None:
    """Within a layer too, modules import each other one way (lazy imports included)."""
    graph: dict[str, set[str]] = {module_name(path): set() for path in sources()}
    for path in sources():
        here = module_name(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and (
                    node.module == "policy_gate" or node.module.startswith("policy_gate.")):
                package = node.module.removeprefix("policy_gate").lstrip(".")
                # `from policy_gate.reports import sarif` imports the module reports.sarif
                named = {f"{package}.{a.name}".lstrip(".") for a in node.names}
                graph[here] |= {m for m in {package, *named} if m in graph and m != here}
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as cycle:
        raise AssertionError(f"import cycle: {' -> '.join(cycle.args[1])}") from None


def test_only_the_runner_and_the_front_import_scanner_modules() -> None:
    wrong = []
    for path in sources():
        here = module_name(path)
        if layer_of(here) in {"scanners", "run", "front"}:
            continue
        for line, target in imported(ast.parse(path.read_text(encoding="utf-8"))):
            if target == "scanners" or target.startswith("scanners."):
                wrong.append(f"{here}:{line} imports {target}")
    assert wrong == []


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_function_over_80_lines_and_no_module_over_800(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    here = module_name(path)
    assert len(text.splitlines()) <= MAX_MODULE_LINES, here
    long = {
        f"{here}.{node.name}": node.end_lineno - node.lineno + 1
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    }
    assert long == {}


def test_a_wrong_import_is_caught() -> None:
    """The checker itself: a report importing the runner is named."""
    tree = ast.parse("from policy_gate.runner import ScanResult\n")
    ((_line, target),) = imported(tree)
    assert layer_of(target) == "run" and "run" not in ALLOWED["reports"]
    assert layer_of("reports.sarif") == "reports" and layer_of("base.git") == "base"


def test_every_scanner_takes_its_facts_from_the_catalogue() -> None:
    """The runner's scanners and the catalogue the other layers read are one list."""
    from policy_gate import catalogue
    from policy_gate.scanners import registry

    scanners = registry()
    assert list(scanners) == [info.name for info in catalogue.SCANNERS]
    for name, scanner in scanners.items():
        info = catalogue.BY_NAME[name]
        assert type(scanner).info is info
        assert (scanner.name, scanner.categories, scanner.description, scanner.file_local) == (
            info.name, info.categories, info.description, info.file_local)
