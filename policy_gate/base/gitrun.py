"""Running git in a repository treated as hostile.

A repository's configuration and attributes can name programs that git would run on our
behalf: diff drivers, textconv, clean/smudge filters, fsmonitor, hooks, pagers, signature
verifiers, credential helpers. Every call switches all of them off, runs with a minimal
environment (no tokens) and a timeout, never touches the network, and reads output as
NUL-separated bytes so no file name can forge a record.

It can also make git *report less*: configuration changing prefixes, rename detection or
the binary size threshold, grafts and replace refs rewriting history. Configuration that
shapes the output is fixed on the command line, and grafts and replace refs are ignored.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from policy_gate.base.process import OutputLimitError, kill_group, read_bounded

# Per git call. A diff of a large pull request is the slowest call; minutes mean trouble.
DEFAULT_TIMEOUT = 120.0

# A diff, log or listing larger than this is refused instead of read into memory.
MAX_OUTPUT_BYTES = 256 * 1024 * 1024

# Enough of git's stderr to explain a failure; the rest is dropped as it arrives.
_STDERR_KEEP = 64 * 1024

# Configuration that neutralises everything a repository can make git execute or do beyond
# reading, plus settings that would change the shape of the output we parse. Given with -c,
# which outranks every configuration file (including ones pulled in by include.path).
_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.fsmonitor", "false"),
    ("core.hooksPath", os.devnull),
    ("core.pager", "cat"),
    ("core.askPass", ""),
    ("core.quotePath", "false"),
    ("core.untrackedCache", "false"),
    # No attributes but the work tree's own (and none at all where commits are compared),
    # no ignore file but the tree's, no size above which every file is "binary", no
    # cached commit graph that could disagree with the commits.
    ("core.attributesFile", os.devnull),
    ("core.excludesFile", os.devnull),
    ("core.bigFileThreshold", "512m"),
    ("core.commitGraph", "false"),
    ("advice.graftFileDeprecated", "false"),
    ("diff.external", ""),
    ("diff.noprefix", "false"),
    ("diff.mnemonicPrefix", "false"),
    ("diff.relative", "false"),
    ("diff.renames", "true"),
    ("diff.suppressBlankEmpty", "false"),
    ("diff.interHunkContext", "0"),
    ("diff.indentHeuristic", "true"),
    ("diff.ignoreSubmodules", "dirty"),
    ("diff.submodule", "short"),
    ("submodule.recurse", "false"),
    ("status.submoduleSummary", "false"),
    ("log.showSignature", "false"),
    ("log.mailmap", "false"),
    ("i18n.logOutputEncoding", "UTF-8"),
    ("color.ui", "false"),
    ("color.diff", "false"),
    ("protocol.allow", "never"),
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
)

# Flags for every diff: no program from the repository (external diff, textconv), no
# submodule walking (that runs git inside another, equally untrusted, repository), a fixed
# algorithm and prefixes so the output does not depend on configuration.
DIFF_FLAGS: tuple[str, ...] = (
    "--no-ext-diff",
    "--no-textconv",
    "--no-color",
    "--no-relative",
    "--ignore-submodules=dirty",
    "--submodule=short",
    "--diff-algorithm=default",
    "-M",
)


class GitError(Exception):
    """A clear, user-facing message (the CLI prints it and exits 2)."""


@dataclass(frozen=True)
class Git:
    """How git is run for one repository: the executable, the directories trusted although
    another user may own them, the minimal environment, and the git directory (for calls
    that must not see the work tree, see `call`)."""

    exe: str
    trusted: tuple[str, ...]
    env: Mapping[str, str]
    gitdir: str = ""

    @classmethod
    def locked(cls, exe: str, trusted: Sequence[str]) -> Git:
        """git with everything the configuration can make it run switched off, but for
        filter drivers (see `without_filters`)."""
        return cls(exe=exe, trusted=tuple(trusted), env=_environment(exe, ()))

    def without_filters(self, config: bytes, gitdir: str) -> Git:
        """This git with every filter driver ``config`` (the output of `git config -z
        --get-regexp '^filter\\.'`) defines blanked, and the repository's git directory.

        Filter drivers have user-chosen names, so they cannot be disabled by a fixed -c.
        With an empty command git uses the content as it is, and `required` must not turn
        that into an error."""
        neutral: list[tuple[str, str]] = []
        for name in sorted(_filter_names(config)):
            for var, value in (("clean", ""), ("smudge", ""), ("process", ""),
                               ("required", "false")):
                neutral.append((f"filter.{name}.{var}", value))
        return dataclasses.replace(self, env=_environment(self.exe, neutral), gitdir=gitdir)

    def call(
        self,
        args: Sequence[str],
        *,
        cwd: Path,
        timeout: float,
        ok: Sequence[int] = (0,),
        max_out: int = MAX_OUTPUT_BYTES,
        plain: bool = False,
        stdin: bytes | None = None,
    ) -> tuple[int, bytes, bytes]:
        """Run one git command in cwd: exit code, stdout, stderr. An exit code outside
        ok, a timeout, a signal or oversized output is a GitError.

        ``plain``: run against an empty work tree and an empty index, so that no
        `.gitattributes` applies (git reads them from there, even to compare two commits;
        git 2.39 has no --attr-source). Only for commands that read commits, never the
        working tree."""
        argv = [self.exe, "--no-pager", "--no-replace-objects"]
        for key, value in _CONFIG:
            argv += ["-c", f"{key}={value}"]
        for path in self.trusted:
            argv += ["-c", f"safe.directory={path}"]
        with contextlib.ExitStack() as stack:
            env = self.env
            if plain:
                empty = Path(stack.enter_context(
                    tempfile.TemporaryDirectory(prefix="policy-gate-git-")))
                argv += [f"--git-dir={self.gitdir}", f"--work-tree={empty}"]
                cwd, env = empty, {**env, "GIT_INDEX_FILE": str(empty / "no-index")}
            argv += args
            rc, out, err = _run(argv, cwd=cwd, env=env, timeout=timeout, max_out=max_out,
                                what=f"git {args[0]}", stdin=stdin)
        if rc not in ok:
            raise GitError(f"git {args[0]} failed (exit {rc}){stderr_tail(err)}")
        return rc, out, err


def _environment(git: str, neutral: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Only what git needs: no tokens, no user or system configuration (the same answer
    locally and in CI), no prompts, no optional index writes, no lazy fetches."""
    env = {
        "PATH": os.pathsep.join([str(Path(git).parent), os.defpath]),
        "HOME": os.devnull,  # no ~/.gitconfig, no global ignore or attributes file
        "LC_ALL": "C",
        "LANG": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_ATTR_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "",
        "SSH_ASKPASS": "",
        "GIT_OPTIONAL_LOCKS": "0",
        "GIT_NO_REPLACE_OBJECTS": "1",
        "GIT_GRAFT_FILE": os.devnull,  # no grafts (--no-replace-objects leaves them on)
        "GIT_NO_LAZY_FETCH": "1",
        "GIT_LITERAL_PATHSPECS": "1",
        "GIT_PAGER": "cat",
        "PAGER": "cat",
    }
    # Also command-line scope, but as key/value pairs: a driver name may contain '='.
    env["GIT_CONFIG_COUNT"] = str(len(neutral))
    for i, (key, value) in enumerate(neutral):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    return env


def _run(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    max_out: int,
    what: str,
    stdin: bytes | None = None,
) -> tuple[int, bytes, bytes]:
    """Run to completion within timeout, reading at most max_out bytes of stdout; on
    timeout or overflow the whole process group is killed. stdin comes from a file, so
    a large input cannot dead-lock against the output."""
    with contextlib.ExitStack() as stack:
        source: int | IO[bytes] = subprocess.DEVNULL
        if stdin is not None:
            source = stack.enter_context(tempfile.TemporaryFile())
            source.write(stdin)
            source.seek(0)
        try:
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=source,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            raise GitError(f"could not start git: {exc.strerror or exc}") from None
    try:
        rc, out, err = read_bounded(proc, timeout=timeout, max_out=max_out,
                                    keep_err=_STDERR_KEEP)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        raise GitError(f"{what} timed out after {timeout:g} s") from None
    except OutputLimitError as exc:
        kill_group(proc)
        raise GitError(f"{what} {exc}") from None
    except BaseException:
        kill_group(proc)
        raise
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = f"signal {-rc}"
        raise GitError(f"{what} was killed by {name}{stderr_tail(err)}")
    return rc, out, err


def _filter_names(config: bytes) -> set[str]:
    """Driver names from `git config -z --get-regexp '^filter\\.'` (key, newline, value,
    NUL). Names keep their case: subsections are case-sensitive."""
    names: set[str] = set()
    for item in config.split(b"\0"):
        key = item.split(b"\n", 1)[0].decode("utf-8", "surrogateescape")
        section, _, rest = key.partition(".")
        name, dot, _ = rest.rpartition(".")
        if section.lower() == "filter" and dot and name:
            names.add(name)
    return names


def printable(text: str) -> str:
    """Escape control characters (ANSI sequences, newlines in names) for messages."""
    return "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )


def stderr_tail(err: bytes, limit: int = 400) -> str:
    """The end of git's stderr, escaped: where git explains what went wrong."""
    text = err.decode("utf-8", "replace").strip()
    if not text:
        return ""
    if len(text) > limit:
        text = "…" + text[-limit:]
    return ": " + printable(text)


__all__ = ["DEFAULT_TIMEOUT", "DIFF_FLAGS", "MAX_OUTPUT_BYTES", "Git", "GitError", "printable",
           "stderr_tail"]
