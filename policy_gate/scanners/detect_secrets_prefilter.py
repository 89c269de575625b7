"""Run detect-secrets' own command line, skipping the lines no enabled plugin can report on.

detect-secrets spends most of its time not in its regular expressions but in calling every
plugin on every line through a dependency-injection helper (~85 % of its CPU on Django).
Most lines match none of the plugins' patterns. This wrapper, run by detect-secrets' own
interpreter, replaces the per-line loop with one that first asks, for each plugin, a
question whose "no" is a proof that the plugin would report nothing on that line:

* regex plugins: does any pattern of the plugin's ``denylist`` match (the plugin reports
  only ``findall`` results of those patterns, or, for the JWT plugin, some of them);
* high-entropy plugins: is there a quoted run of the charset at least ``2**limit`` long (a
  string of n characters has Shannon entropy at most log2(n), and only strings above the
  limit are reported);
* the keyword plugin: does the line contain one of its keywords (every one of its patterns
  requires one).

A plugin of any other kind disables the shortcut. Lines that pass go through
detect-secrets' unchanged code (plugins, filters, file transformers), so the report is the
same; the test suite compares the two on every plugin's secrets. With ``--cores 1`` the
files are also scanned in this process instead of through a pool of one worker
(``_scan_in_process``). Imports only the standard library and detect_secrets: it runs in
whatever environment the scanner is installed in.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Generator, Sequence
from typing import Any

# The detect-secrets versions whose internals this wrapper was checked against.
CHECKED_VERSIONS = ("1.5.",)
# Printed on stderr when the shortcut is not applied (the scan is then plain detect-secrets).
NOT_APPLIED = "policy-gate-prefilter: not applied"


# Regex plugins whose own analyze_string only drops some of the base class's matches
# (checked in the versions above): the JWT plugin keeps the ones that decode.
NARROWING_PLUGINS = frozenset({"detect_secrets.plugins.jwt.JwtTokenDetector"})


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _triggers(plugins: Sequence[Any]) -> list[re.Pattern[str]] | None:
    """Per plugin, patterns at least one of which matches any line it reports on; None if
    some plugin is of a kind this cannot reason about."""
    from detect_secrets.plugins import keyword
    from detect_secrets.plugins.base import RegexBasedDetector
    from detect_secrets.plugins.high_entropy_strings import HighEntropyStringsPlugin

    patterns: list[re.Pattern[str]] = []
    for plugin in plugins:
        if _qualified(type(plugin)) == "detect_secrets.plugins.keyword.KeywordDetector":
            words = "|".join(keyword.DENYLIST)
            patterns.append(re.compile(words, re.IGNORECASE))
        elif isinstance(plugin, HighEntropyStringsPlugin) and type(plugin).analyze_line is (
            HighEntropyStringsPlugin.analyze_line
        ):
            shortest = int(2 ** float(plugin.entropy_limit)) + 1
            charset = re.escape(plugin.charset)
            patterns.append(re.compile(rf"(['\"])[{charset}]{{{shortest},}}\1"))
        elif isinstance(plugin, RegexBasedDetector) and (
            type(plugin).analyze_string is RegexBasedDetector.analyze_string
            or _qualified(type(plugin)) in NARROWING_PLUGINS
        ):
            patterns.extend(plugin.denylist)
        else:
            return None
    return patterns


def install() -> bool:
    """Replace detect-secrets' per-line loop with the prefiltered copy; False if this
    version's internals are not the ones the copy was made from."""
    try:
        from importlib.metadata import version

        from detect_secrets.core import scan
        from detect_secrets.util.code_snippet import get_code_snippet
    except ImportError:
        return False
    if not version("detect-secrets").startswith(CHECKED_VERSIONS):
        return False
    needed = ("_process_line_based_plugins", "_scan_line", "_is_filtered_out", "get_plugins")
    if not all(callable(getattr(scan, name, None)) for name in needed):
        return False
    get_plugins: Callable[[], Sequence[Any]] = scan.get_plugins  # type: ignore[attr-defined]
    original: Callable[..., Generator[Any, None, None]] = scan._process_line_based_plugins
    cache: dict[int, list[re.Pattern[str]] | None] = {}

    def process(lines: list[tuple[int, str]], filename: str) -> Generator[Any, None, None]:
        plugins = get_plugins()
        if id(plugins) not in cache:
            cache[id(plugins)] = _triggers(plugins)
        triggers = cache[id(plugins)]
        if triggers is None:
            yield from original(lines, filename)
            return
        # From here on, detect-secrets 1.5's loop, with the test added before any plugin runs.
        line_content = [line[1] for line in lines]
        for line_number, line in lines:
            line = line.rstrip()
            if not any(p.search(line) for p in triggers):
                continue
            code_snippet = get_code_snippet(lines=line_content, line_number=line_number)
            if scan._is_filtered_out(
                required_filter_parameters=["line"],
                filename=filename,
                line=line,
                context=code_snippet,
            ):
                continue
            yield from (
                secret
                for plugin in plugins
                for secret in scan._scan_line(
                    plugin=plugin,
                    filename=filename,
                    line=line,
                    line_number=line_number,
                    context=code_snippet,
                )
                if not scan._is_filtered_out(
                    required_filter_parameters=["context"],
                    filename=secret.filename,
                    secret=secret.secret_value,
                    plugin=plugin,
                    line=line,
                    context=code_snippet,
                )
            )

    scan._process_line_based_plugins = process
    _scan_in_process()
    return True


def _scan_in_process() -> None:
    """With ``--cores 1``, scan the files in this process rather than through a pool of
    one worker: detect-secrets 1.5 starts a ``multiprocessing.Pool`` whatever the core
    count and sends it one file at a time, which costs a third of its CPU on small files.
    The files are scanned by the same function, with the same path joining and result
    keys, as its pool would; only the process boundary is gone."""
    from detect_secrets.core import secrets_collection as collection

    worker = getattr(collection, "_scan_file_and_serialize", None)
    pooled = getattr(collection.SecretsCollection, "scan_files", None)
    if not callable(worker) or not callable(pooled):
        return  # another layout: keep detect-secrets' own pool

    def scan_files(self: Any, *filenames: str, num_processors: int | None = None) -> None:
        if num_processors != 1 or len(filenames) == 1:
            pooled(self, *filenames, num_processors=num_processors)
            return
        for filename in filenames:
            # joined exactly as detect-secrets joins them for its pool
            for secret in worker(os.path.join(self.root, filename)):  # noqa: PTH118
                self[os.path.relpath(secret.filename, self.root)].add(secret)

    setattr(collection.SecretsCollection, "scan_files", scan_files)  # noqa: B010


def main(argv: list[str]) -> int:
    if not install():
        print(NOT_APPLIED, file=sys.stderr)
    from detect_secrets.main import main as detect_secrets_main

    return int(detect_secrets_main(argv) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
