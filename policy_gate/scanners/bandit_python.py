"""A newer Python for the files bandit's own interpreter cannot parse.

bandit parses with the ``ast`` module of the interpreter it runs on: Python 3.11 rejects
3.12's f-strings (PEP 701) as a syntax error, so bandit gives up on the whole file (on one
test corpus, 37 % of the files). Such files are analysed again by the same bandit under
the newest Python found that is newer than bandit's own:

* ``POLICY_GATE_BANDIT_PYTHON``, when set, is the only one tried (empty: none);
* else pyenv's and uv's installed versions, then ``python3.N`` on PATH, newest first.

The interpreter runs the bandit the gate runs (its installation directory added to an
otherwise empty ``sys.path``: ``-I -S``, nothing from the scanned tree or the user's
site), or, when bandit is not installed beside the gate, its own bandit; either way only
if it reports the same bandit version. bandit and its dependencies are pure Python
(PyYAML falls back from its C extension), so nothing needs installing.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from policy_gate.base.process import ScannerError, console_script, find_tool, run_tool

BANDIT_PYTHON_ENV = "POLICY_GATE_BANDIT_PYTHON"
SYNTAX_ERROR = "syntax error while parsing AST from file"
NEWEST_MINOR = 30  # python3.N looked for, from this N down

# Run bandit's command line: argv[1] is a directory to put on sys.path ("" for none).
_RUN = (
    "import sys; p = sys.argv.pop(1); p and sys.path.append(p); sys.argv[0] = 'bandit'; "
    "from bandit.cli.main import main; sys.exit(main())"
)
# What it runs: its version, bandit's version, and where that bandit is installed.
_PROBE = (
    "import sys, os; p = sys.argv[1]; p and sys.path.append(p); "
    "import importlib.metadata as m, bandit.cli.main as b; "
    "print(*sys.version_info[:2], m.version('bandit'), "
    "os.path.dirname(os.path.dirname(os.path.dirname(b.__file__))))"
)
_VERSIONS = re.compile(r"bandit (\S+).*?python version = (\d+)\.(\d+)", re.S)


@dataclass(frozen=True, slots=True)
class Interpreter:
    """A Python that runs bandit, and the directory that bandit is installed in ("" when
    unknown); a re-run borrows it (with -S: nothing else on sys.path)."""

    path: str
    version: tuple[int, int]
    bandit: str  # bandit's version
    site: str = ""

    @property
    def label(self) -> str:
        return f"Python {self.version[0]}.{self.version[1]}"

    def command(self) -> list[str]:
        """The argv prefix that stands for ``bandit``: with its own bandit and site
        packages when it has no borrowed ``site``."""
        flags = ["-I", "-S"] if self.site else ["-I"]
        return [self.path, *flags, "-X", "utf8", "-c", _RUN, self.site]


def bandit_interpreter() -> Interpreter | None:
    """The Python the ``bandit`` command runs on, and the bandit it runs; None when that
    cannot be told (a stand-in that does not say)."""
    exe = find_tool("bandit")
    script = console_script(exe) if exe else None
    if script is not None and script.runs_here():
        spec = importlib.util.find_spec("bandit")
        try:
            version = metadata.version("bandit")
        except metadata.PackageNotFoundError:
            return None
        if spec is None or spec.origin is None:
            return None
        site = str(Path(spec.origin).parent.parent)
        return Interpreter(sys.executable, sys.version_info[:2], version, site)
    if script is not None:  # pip's script for another interpreter: ask that one
        return _probe(script.interpreter, "", lend=True)
    try:  # not pip's script: bandit --version says which Python it runs on
        said = run_tool("bandit", ["bandit", "--version"], timeout=60).stdout
    except ScannerError:
        return None
    match = _VERSIONS.search(said)
    if match is None:
        return None
    return Interpreter(exe or "bandit", (int(match[2]), int(match[3])), match[1])


def candidates(base: tuple[int, int], tree: Path | None = None) -> list[str]:
    """Interpreters newer than ``base`` that may run bandit, newest first. Only absolute
    PATH entries, and nothing inside the scanned ``tree``: a pull request can add an
    executable named python3.13."""
    configured = os.environ.get(BANDIT_PYTHON_ENV)
    if configured is not None:
        return [configured] if configured else []
    found: list[str] = []
    homes = _homes()
    for minor in range(NEWEST_MINOR, base[1], -1):
        name = f"python{base[0]}.{minor}"
        for home in homes:  # before PATH, where pyenv's shims may stand for nothing
            pattern = f"*{base[0]}.{minor}.*/bin/{name}"
            found += sorted((str(p) for p in home.glob(pattern)), reverse=True)
        found += [str(Path(d) / name) for d in os.get_exec_path() if Path(d).is_absolute()]
    return list(dict.fromkeys(
        p for p in found if os.access(p, os.X_OK) and not _inside(p, tree)))


def _homes() -> list[Path]:
    """Where pyenv and uv install Python versions."""
    try:
        home = Path.home()
    except RuntimeError:  # no HOME and no passwd entry
        return []
    pyenv = Path(os.environ["PYENV_ROOT"]) if os.environ.get("PYENV_ROOT") else home / ".pyenv"
    return [pyenv / "versions", home / ".local" / "share" / "uv" / "python"]


def _inside(path: str, tree: Path | None) -> bool:
    if tree is None:
        return False
    try:
        return Path(path).resolve().is_relative_to(tree.resolve())
    except (OSError, RuntimeError):
        return True  # cannot tell: not used


def find_newer(tree: Path | None = None) -> tuple[Interpreter | None, str]:
    """The newest interpreter to re-run bandit under, or None and why there is none."""
    base = bandit_interpreter()
    if base is None:
        return None, f"bandit's interpreter could not be determined; {fix_hint(None)}"
    newer = _first_newer(base, tuple(candidates(base.version, tree)))
    if newer is not None:
        return newer, ""
    configured = os.environ.get(BANDIT_PYTHON_ENV)
    if configured:
        why = (f"{BANDIT_PYTHON_ENV}={configured} does not run bandit {base.bandit} under "
               f"a Python newer than {base.label} (bandit's)")
    else:
        why = f"no Python newer than {base.label} (bandit's) was found to try"
    return None, f"{why}; {fix_hint(base)}"


def rerun_interpreter() -> Interpreter | None:
    return find_newer()[0]


def fix_hint(base: Interpreter | None) -> str:
    """How to make files of newer syntax analysable."""
    minor = base.version[1] + 1 if base is not None else sys.version_info[1] + 1
    return (f"if it is newer Python, make python3.{minor} or later available (on PATH, or "
            f"{BANDIT_PYTHON_ENV}=/path/to/python3.{minor}): bandit is then run under it "
            "for such files")


@functools.lru_cache(maxsize=8)
def _first_newer(base: Interpreter, paths: tuple[str, ...]) -> Interpreter | None:
    for path in paths:
        found = _probe(path, base.site)
        if found is not None and found.version > base.version and found.bandit == base.bandit:
            return found
    return None


def _probe(path: str, site: str, *, lend: bool = False) -> Interpreter | None:
    """What ``path`` runs when asked to run bandit (borrowing ``site`` if given; with
    ``lend``, the answer names where its own bandit is, for others to borrow)."""
    flags = ["-I", "-S"] if site else ["-I"]
    try:
        completed = run_tool("bandit", [path, *flags, "-c", _PROBE, site], timeout=60)
    except ScannerError:
        return None
    parts = completed.stdout.strip().split(" ", 3)
    if completed.returncode != 0 or len(parts) != 4:
        return None
    major, minor, version, location = parts
    if not (major.isdigit() and minor.isdigit()):
        return None
    return Interpreter(path, (int(major), int(minor)), version, location if lend else site)
