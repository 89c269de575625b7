"""The pre-commit hook, installed as docs/github-action.md says, passes its own gate
(issue 20): the documented `.pre-commit-config.yaml` pins this repository by a 40-hex
commit, `pre-commit install` installs the hook, and `git commit` runs the gate: the commit
goes through on a clean tree and is refused with a credential in it.

Everything is real except where pip gets packages from. pre-commit clones this repository
at the pinned commit, reads its `.pre-commit-hooks.yaml`, makes its own virtualenv and
runs `pip install . <the hook's additional_dependencies>` in it; offline (tests never use
the internet), pip has no index and is shown the distributions of the interpreter running
the tests (less policy-gate's own) on PYTHONPATH, so it must find every pinned scanner
version there (a pin that differs from what the project installs fails the install), and
it builds policy-gate from the clone with the hatchling pinned in requirements/test.txt
(no build isolation: that would need an index). The gate that runs is the one pip built
from the pinned commit. Not exercised: downloading the wheels from PyPI.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import REPO, real_tool
from tests.secret_corpus import B32, p, pick

DOC = REPO / "docs" / "github-action.md"
UPSTREAM = "https://github.com/mojaloop/policy-gate"


def documented_config() -> str:
    """The `.pre-commit-config.yaml` of the docs' pre-commit section."""
    section = DOC.read_text().split("\n## pre-commit\n", 1)[1]
    match = re.search(r"```yaml\n(# \.pre-commit-config\.yaml\n.*?)```", section, re.DOTALL)
    assert match, "docs/github-action.md: no .pre-commit-config.yaml block under ## pre-commit"
    return match.group(1)


def installed_view(work: Path) -> Path:
    """The test interpreter's installed distributions, as a directory for PYTHONPATH,
    without policy-gate's own: the hook's gate must be the one built from the pin."""
    view = work / "installed"
    view.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if "policy_gate" not in entry.name.lower().replace("-", "_"):
            (view / entry.name).symlink_to(entry)
    return view


def offline_env(work: Path) -> dict[str, str]:
    """The user's environment, with pre-commit's and pip's state kept in ``work`` and no
    package index (see the module docstring)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "PYTHON", "VIRTUALENV_", "PRE_COMMIT", "GIT_"))}
    here = str(Path(sys.executable).parent)
    env.update(
        PRE_COMMIT_HOME=str(work / "pre-commit-home"),
        VIRTUALENV_OVERRIDE_APP_DATA=str(work / "virtualenv-data"),
        VIRTUALENV_NO_PERIODIC_UPDATE="1",  # else it starts `pip download` of newer seeds
        PIP_CONFIG_FILE=os.devnull,  # no machine or user pip configuration
        PIP_CACHE_DIR=str(work / "pip-cache"),
        PIP_NO_INDEX="1",
        PIP_NO_BUILD_ISOLATION="0",  # pip's inverted switch: "0" turns isolation off
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PYTHONPATH=str(installed_view(work)),
        PATH=os.pathsep.join([here, env.get("PATH", "")]),  # the scanners' executables
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        NO_COLOR="1",
    )
    return env


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600, check=False)


@pytest.fixture(scope="module")
def hooked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], str]:
    """A repository with the documented config, pinned to this repository's HEAD, and the
    hook installed by `pre-commit install`."""
    pre_commit = real_tool("pre-commit")
    assert pre_commit, "pre-commit is pinned in requirements/test.txt"
    rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{40}", rev)
    work = tmp_path_factory.mktemp("pre-commit")
    env = offline_env(work)
    repo = work / "repo"
    repo.mkdir()
    config = documented_config().replace(UPSTREAM, str(REPO))
    config = re.sub(r"rev: <40-hex commit sha>", f"rev: {rev}", config)
    assert f"rev: {rev}" in config and str(REPO) in config, config
    (repo / ".pre-commit-config.yaml").write_text(config)
    (repo / ".github").mkdir()
    (repo / ".github" / "policy-gate.yaml").write_text(
        "version: 1\nname: demo\nextends: builtin:mojaloop\n")
    (repo / "README.md").write_text("# demo\n")
    for argv in (["git", "init", "-q", "-b", "main"],
                 ["git", "config", "user.email", "dev@example.org"],
                 ["git", "config", "user.name", "dev"],
                 [pre_commit, "install"]):
        done = run(argv, repo, env)
        assert done.returncode == 0, done.stdout + done.stderr
    assert (repo / ".git" / "hooks" / "pre-commit").is_file()
    return repo, env, pre_commit


def _commit(repo: Path, env: dict[str, str], message: str) -> subprocess.CompletedProcess[str]:
    added = run(["git", "add", "-A"], repo, env)
    assert added.returncode == 0, added.stderr
    return run(["git", "commit", "-m", message], repo, env)


def test_a_clean_commit_with_the_pinned_config_passes(
    hooked: tuple[Path, dict[str, str], str],
) -> None:
    """The commit that adds the config (its 40-hex `rev:` included) passes the gate the
    hook runs, and that gate is the one installed from the pinned commit."""
    repo, env, _ = hooked
    done = _commit(repo, env, "adopt policy-gate")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert re.search(r"policy-gate \(.*\)\.+Passed", output), output
    home = Path(env["PRE_COMMIT_HOME"])
    installed = list(home.glob("repo*/py_env-*/bin/policy-gate"))
    assert len(installed) == 1, installed
    # the package itself is in the hook's virtualenv, and nowhere else it could be imported
    built = list(home.glob("repo*/py_env-*/lib/python*/site-packages/policy_gate/__init__.py"))
    assert len(built) == 1, built
    assert not (Path(env["PYTHONPATH"]) / "policy_gate").exists()


def test_a_planted_credential_refuses_the_commit(
    hooked: tuple[Path, dict[str, str], str],
) -> None:
    repo, env, _ = hooked
    head = run(["git", "rev-parse", "HEAD"], repo, env).stdout
    key_id = p("AK", "IA") + pick(random.Random(20), B32, 16)
    # in a .env file: no code scanner (semgrep, bandit) starts for it, only the secret ones
    (repo / ".env").write_text(f"AWS_ACCESS_KEY_ID={key_id}\n")
    done = _commit(repo, env, "add the environment")
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert re.search(r"policy-gate \(.*\)\.+Failed", output), output
    assert "aws-access-key-id" in output and ".env:1" in output, output
    assert key_id not in output
    assert run(["git", "rev-parse", "HEAD"], repo, env).stdout == head  # nothing committed
