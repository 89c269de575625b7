"""Git submodules whose code is not in the scanned tree.

A submodule is another repository's code that the build checks out and uses. A checkout
without ``submodules: true`` leaves its directory empty, so no scanner sees it: a pull
request could add (or move) one and pass. Every submodule the tree declares in
``.gitmodules``, and in diff mode every gitlink the change adds or moves (git records one
even without ``.gitmodules``), must either be checked out (its files are then scanned like
any others), be excluded by the policy, or be reported here.

``.gitmodules`` is read as data (git's config syntax, the subset it uses); git is never run
on it, and nothing it names is fetched.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from policy_gate.base.fileset import FileSet
from policy_gate.base.treefile import TreeFileError, read_tree_file
from policy_gate.findings import UNSCANNED, Confidence, Finding, Severity, Source, content_key

GITMODULES = ".gitmodules"
SOURCE = "policy-gate"
RULE = "submodule-not-scanned"
MAX_GITMODULES_BYTES = 1024 * 1024
FIX = ("Check submodules out before the scan (actions/checkout with `submodules: true`) so "
       "their code is scanned, or vendor the code; or exclude the path in the policy if it "
       "is reviewed elsewhere.")

_SECTION = re.compile(r'^\[\s*submodule\s+"((?:[^"\\]|\\.)*)"\s*\]\s*(?:[#;].*)?$', re.I)
_OTHER_SECTION = re.compile(r"^\[[^\]]*\]\s*(?:[#;].*)?$")
_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*))?$")


@dataclass(frozen=True)
class Submodule:
    name: str
    path: str  # as declared (relative to the .gitmodules' directory)
    url: str
    line: int  # of its `path =` entry (or of its section when it has none)


def parse_gitmodules(text: str) -> list[Submodule]:
    """The submodules a ``.gitmodules`` declares. Raises ValueError on a line that is not
    git config syntax: a file git reads differently must not be half-understood."""
    found: list[Submodule] = []
    name: str | None = None
    fields: dict[str, tuple[str, int]] = {}
    section_line = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if match := _SECTION.match(line):
            found += _submodule(name, fields, section_line)
            name, fields, section_line = _unescape(match.group(1)), {}, number
        elif _OTHER_SECTION.match(line):
            found += _submodule(name, fields, section_line)
            name, fields = None, {}
        elif match := _KEY.match(line):
            fields[match.group(1).lower()] = (_value(match.group(2) or ""), number)
        else:
            raise ValueError(f"line {number} is not git config syntax")
    return [*found, *_submodule(name, fields, section_line)]


def _submodule(name: str | None, fields: dict[str, tuple[str, int]],
               line: int) -> list[Submodule]:
    if name is None:
        return []
    path, at = fields.get("path", ("", line))
    return [Submodule(name, path or name, fields.get("url", ("", 0))[0], at)]


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _value(text: str) -> str:
    """A config value: quotes removed, an unquoted # or ; starts a comment."""
    out, quoted, i = [], False, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append({"n": "\n", "t": "\t"}.get(text[i + 1], text[i + 1]))
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch in "#;" and not quoted:
            break
        else:
            out.append(ch)
        i += 1
    return "".join(out).strip()


def findings(fileset: FileSet, gitlinks: Iterable[str] = ()) -> list[Finding]:
    """A finding for every submodule whose code the scan does not have: declared in a
    ``.gitmodules`` of the tree, or (diff mode) a gitlink directory (``dir/``) the change
    added or moved."""
    out: list[Finding] = []
    reported: set[str] = set()
    for rel in fileset.named((GITMODULES,)):
        for path, finding in _declared(fileset, rel):
            reported.add(path)
            out.append(finding)
    for directory in gitlinks:
        path = directory.rstrip("/")
        if path in reported or _present(fileset, path):
            continue
        reported.add(path)
        out.append(_finding(
            f"{path}/", None, f"the change adds a submodule (a gitlink) at {path}/, and its "
            "code is not in the scanned tree: nothing in it was scanned or audited", path))
    return out


def _declared(fileset: FileSet, rel: str) -> Iterator[tuple[str, Finding]]:
    try:
        text = read_tree_file(fileset.path(rel), MAX_GITMODULES_BYTES).decode("utf-8")
        declared = parse_gitmodules(text)
    except (TreeFileError, UnicodeDecodeError, ValueError) as exc:
        yield rel, _finding(rel, None, f"{rel} cannot be read ({exc}), so which submodules "
                            "the tree uses, and whether their code was scanned, is unknown", rel)
        return
    base = posixpath.dirname(rel)
    for sub in declared:
        path = posixpath.normpath(posixpath.join(base, sub.path))
        if path.startswith("../") or path in ("..", "."):
            continue  # git refuses such a path; there is nothing it could check out
        if _present(fileset, path):
            continue
        where = f" ({sub.url})" if sub.url else ""
        yield path, _finding(
            rel, sub.line, f"submodule {path}{where} is declared here, and its code is not in "
            "the scanned tree: nothing in it was scanned or audited", path)


def _present(fileset: FileSet, path: str) -> bool:
    """Checked out (some file under it was walked) or excluded by the policy."""
    prefix = path + "/"
    return any(f.startswith(prefix) for f in fileset.files) or any(
        e.endswith("/") and prefix.startswith(e) for e in fileset.excluded)


def _finding(path: str, line: int | None, message: str, submodule: str) -> Finding:
    return Finding(
        category=UNSCANNED,
        sources=(Source(SOURCE, RULE, Severity.HIGH, Confidence.HIGH, message),),
        path=path,
        start_line=line,
        end_line=line,
        message=message,
        flaw_key=RULE,
        content_key=content_key(submodule),
        title="Submodule not scanned",
        fix=FIX,
    )
