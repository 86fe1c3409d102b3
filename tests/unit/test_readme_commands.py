"""The README's two set-up commands and its UI command, as written.

They must work on a fresh machine as root (no ``sudo``, which a root container often lacks) and
as a user with ``sudo``; ``.ci/run`` runs command (b) by reading it from the README.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _command(marker: str) -> str:
    match = re.search(rf"<!-- setup: {marker} -->\s*```bash\n(.+?)\n```", README, flags=re.S)
    assert match, f"no command under <!-- setup: {marker} --> in README.md"
    return match.group(1).strip()


def test_exactly_two_set_up_commands():
    assert README.count("<!-- setup: ") == 2
    main, tests = _command("main-job"), _command("tests")
    assert main.endswith("pip install . && risk-dagster run")
    assert tests.endswith('pip install -e ".[test]" && python -m pytest -q -n 2')
    for command in (main, tests):
        assert "\n" not in command
        assert "pip install torch==2.13.0 && pip install " in command  # the CPU wheel first
        assert not re.search(r"(^|[;&|]\s*)sudo\s", command), "a bare sudo fails where sudo does not exist"


def _privilege_prefix(uid: int, tmp_path: Path) -> str:
    """What the commands' ``S=...`` prefix evaluates to for a user id (``id`` faked on PATH)."""
    prefix = _command("tests").split(";", 1)[0]
    bin_dir = tmp_path / f"bin{uid}"
    bin_dir.mkdir()
    fake_id = bin_dir / "id"
    fake_id.write_text(f"#!/bin/sh\necho {uid}\n")
    fake_id.chmod(fake_id.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    out = subprocess.run(["sh", "-c", f'{prefix}; printf "[%s]" "$S"'], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize(("uid", "expected"), [(0, "[]"), (1000, "[sudo]")])
def test_sudo_only_for_a_user(uid: int, expected: str, tmp_path: Path):
    assert _privilege_prefix(uid, tmp_path) == expected


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "<!-- setup: tests -->" in ci and "README.md" in ci


def test_ui_command_uses_dg_dev_with_the_run_instance():
    assert "DAGSTER_HOME=$PWD/risk_output/.dagster dg dev --host 127.0.0.1 --port 3000" in README
    assert "dagster dev -h" not in README
