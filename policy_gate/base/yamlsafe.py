"""Reading YAML that may be hostile (policies, waivers, baselines) into plain data, while
remembering the line of every value so errors can point at it.

PyYAML's own constructors would silently keep the last of two duplicate keys (a policy
could then say two things and mean the weaker), expand alias bombs, and accept non-string
keys. This loader composes the node graph and builds the data itself, refusing all three,
and refuses every tag beyond plain strings, numbers, booleans, nulls, timestamps, lists and
mappings: nothing (``!!python/...``, ``!!binary``, ``!!set``, custom tags) is ever
constructed from what the file names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

MAX_BYTES = 1024 * 1024
MAX_NODES = 100_000
MAX_DEPTH = 64

Path = tuple[str | int, ...]

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = frozenset(_CORE + t for t in ("str", "int", "float", "bool", "null", "timestamp"))
_MAP_TAG = _CORE + "map"
_SEQ_TAG = _CORE + "seq"

try:  # the C loader composes ~10x faster; fall back where libyaml is absent
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


@dataclass(frozen=True)
class YamlProblem(Exception):
    line: int | None
    column: int | None
    message: str
    hint: str = ""


@dataclass
class Located:
    """Parsed data plus where each value (by its path of keys and indexes) starts."""

    data: Any
    lines: dict[Path, tuple[int, int]]

    def where(self, path: Path) -> tuple[int | None, int | None]:
        """The line/column of the deepest known ancestor of ``path``."""
        p = tuple(path)
        while p not in self.lines and p:
            p = p[:-1]
        found = self.lines.get(p)
        return found if found else (None, None)


# GitHub reads workflows as YAML 1.2: `on`, `yes`, `off` are strings, not booleans (YAML
# 1.1 would make a workflow's `on:` key a boolean, which this loader refuses as a key).
_Yaml12Loader: type[yaml.SafeLoader] = type("_Yaml12Loader", (_Loader,), {})
_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def load(
    text: str | bytes,
    *,
    yaml12_booleans: bool = False,
    max_bytes: int = MAX_BYTES,
    max_nodes: int = MAX_NODES,
    failsafe: bool = False,
) -> Located:
    """Parse one YAML document with every limit applied. ``yaml12_booleans``: only
    true/false are booleans (GitHub workflows), not YAML 1.1's on/off/yes/no. ``failsafe``:
    every scalar, key or value, is its text (YAML's failsafe schema, how yarn reads its
    lockfile). Machine-written files (lockfiles) may raise ``max_bytes`` and ``max_nodes``;
    keep ``max_nodes`` linear in the size so an alias bomb still cannot expand."""
    if isinstance(text, bytes):
        if len(text) > max_bytes:
            raise YamlProblem(None, None, f"file is larger than {max_bytes} bytes")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise YamlProblem(
                None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
            ) from None
    if len(text) > max_bytes:
        raise YamlProblem(None, None, f"file is larger than {max_bytes} bytes")
    try:
        nodes = list(yaml.compose_all(text, Loader=_Yaml12Loader if yaml12_booleans else _Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlProblem(
            mark.line + 1 if mark else None,
            mark.column + 1 if mark else None,
            f"YAML syntax error: {problem}",
            "check indentation and quoting on or just above this line",
        ) from None
    except yaml.reader.ReaderError as exc:
        # libyaml counts the position in UTF-8 bytes
        line = text.encode("utf-8", "surrogatepass").count(b"\n", 0, exc.position) + 1
        raise YamlProblem(
            line,
            None,
            f"unacceptable character U+{exc.character:04X} ({exc.reason})",
            "YAML is plain text: remove the control character",
        ) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(None, None, f"YAML error: {exc}") from None
    except UnicodeEncodeError as exc:  # a str with a lone surrogate cannot be UTF-8
        raise YamlProblem(None, None, f"not valid Unicode text ({exc.reason})") from None
    except RecursionError:
        raise YamlProblem(None, None, "YAML nesting is too deep") from None
    if len(nodes) > 1:
        raise YamlProblem(None, None, "more than one YAML document ('---') in the file")
    lines: dict[Path, tuple[int, int]] = {}
    if not nodes or nodes[0] is None:
        return Located(None, lines)
    builder = _Builder(lines, max_nodes, failsafe)
    return Located(builder.build(nodes[0], (), 0), lines)


class _Builder:
    def __init__(
        self, lines: dict[Path, tuple[int, int]], max_nodes: int = MAX_NODES,
        failsafe: bool = False,
    ) -> None:
        self.lines = lines
        self.count = 0
        self.max_nodes = max_nodes
        self.failsafe = failsafe

    def build(self, node: yaml.Node, path: Path, depth: int) -> Any:
        self.count += 1
        if self.count > self.max_nodes:
            raise YamlProblem(
                node.start_mark.line + 1,
                None,
                f"document expands to more than {self.max_nodes} values (an alias bomb?)",
            )
        if depth > MAX_DEPTH:
            raise YamlProblem(node.start_mark.line + 1, None, f"nesting deeper than {MAX_DEPTH}")
        _check_tag(node)
        self.lines.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise YamlProblem(
                        line, col, "YAML merge keys ('<<') are not supported", "write the keys out"
                    )
                _check_tag(key_node)
                if not isinstance(key_node, yaml.ScalarNode) or (
                    key_node.tag != "tag:yaml.org,2002:str" and not self.failsafe
                ):
                    raise YamlProblem(line, col, "keys must be plain strings", "quote the key")
                key = str(key_node.value)
                if key in result:
                    raise YamlProblem(
                        line,
                        col,
                        f"duplicate key '{key}'",
                        "remove one of them: YAML would silently keep the last",
                    )
                self.lines[(*path, key)] = (line, col)
                result[key] = self.build(value_node, (*path, key), depth + 1)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return str(node.value) if self.failsafe else _scalar(node)


def _check_tag(node: yaml.Node) -> None:
    """Only the tags plain data resolves to: an explicit ``!!python/...``, ``!!binary``,
    ``!!set`` or custom tag is refused, never constructed (nor silently dropped)."""
    if isinstance(node, yaml.MappingNode):
        allowed = node.tag == _MAP_TAG
    elif isinstance(node, yaml.SequenceNode):
        allowed = node.tag == _SEQ_TAG
    else:
        allowed = node.tag in _SCALAR_TAGS or node.tag == _CORE + "merge"
    if not allowed:
        tag = str(node.tag).replace(_CORE, "!!")
        shown = tag if len(tag) <= 60 else tag[:57] + "..."
        raise YamlProblem(
            node.start_mark.line + 1,
            node.start_mark.column + 1,
            f"YAML tag {shown!r} is not allowed",
            "write plain strings, numbers, booleans, lists and mappings; tags are never "
            "constructed",
        )


_SCALAR_LOADER = yaml.SafeLoader("")


def _scalar(node: yaml.ScalarNode) -> Any:
    """Resolve a scalar the way SafeLoader does, but keep timestamps as ISO strings."""
    if node.tag == "tag:yaml.org,2002:timestamp":
        return str(node.value)
    try:
        return _SCALAR_LOADER.construct_object(node, deep=True)
    except (yaml.YAMLError, ArithmeticError, LookupError, TypeError, ValueError) as exc:
        # e.g. an integer of more digits than Python converts, or `!!float abc`
        reason = str(exc).splitlines()[0][:120]
        raise YamlProblem(
            node.start_mark.line + 1, node.start_mark.column + 1, f"bad value: {reason}"
        ) from None
