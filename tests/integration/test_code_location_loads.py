"""The code location loads the way the Dagster webserver loads it, after either install.

The README opens the UI with ``dg dev`` from the repository root. Dagster puts the working
directory first on ``sys.path``, so from the root it imports the checkout's ``risk_dagster/``
even when a non-editable copy is installed, and that folder holds no ``data_contracts`` /
``regulatory_templates`` sub-packages (only the installed copy does). Each case below runs in
its own process, as the webserver's code server does, and fails on any import error:

* editable install (this test environment), repository root, ``dg check defs``;
* non-editable install, repository root (the checkout shadows the installed copy);
* non-editable install, another folder (only the installed copy is importable).

The non-editable cases use a throwaway virtual environment that holds a real ``pip install .``
of this checkout and sees the test environment's third-party packages through a plain path
entry, so this environment's editable-install finder (which would map the sub-packages onto
the checkout and hide the bug) is not active there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOAD_TIMEOUT_S = 300
MODULE = "risk_dagster.definitions"
_NOT_PACKAGED = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".dagster", ".tmp_dagster_home*", "tmp", "risk_output", "tests", "bench")


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RISK_DAGSTER_SCENARIO_INBOX")}
    env["DAGSTER_HOME"] = str(home)
    env["DAGSTER_DISABLE_TELEMETRY"] = "1"
    return env


def _non_editable_python(tmp: Path) -> Path:
    """A venv with a non-editable install of the checkout; third-party packages from this one."""
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )
    # Built from a copy: setuptools builds in the source's ./build/, which two xdist workers running
    # this fixture at once would share (and collide in).
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*_NOT_PACKAGED))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(source)],
        check=True, capture_output=True, text=True,
    )
    # A plain path line: appended to sys.path, its own .pth files (the editable finder) not run.
    (site / "zz_test_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


@pytest.fixture(scope="module")
def load_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    tmp = tmp_path_factory.mktemp("code_location")
    python = _non_editable_python(tmp)
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    dg = Path(sys.executable).parent / "dg"
    commands = {
        "editable, repository root (dg check defs)": ([str(dg), "check", "defs"], ROOT),
        # `-d`: local modules resolved from that working directory, as the webserver's code server
        # resolves them (plain `definitions validate` does not, and would miss the shadowing).
        "non-editable, repository root": (
            [str(python), "-m", "dagster", "definitions", "validate", "-m", MODULE, "-d", str(ROOT)], ROOT,
        ),
        "non-editable, another folder": (
            [str(python), "-m", "dagster", "definitions", "validate", "-m", MODULE, "-d", str(elsewhere)], elsewhere,
        ),
    }
    # Started together: each load imports torch, transformers and GX (~20 s of CPU).
    procs = {}
    for i, (name, (argv, cwd)) in enumerate(commands.items()):
        home = tmp / f"home{i}"
        home.mkdir()
        procs[name] = subprocess.Popen(
            argv, cwd=cwd, env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    results = {}
    for name, proc in procs.items():
        out, _ = proc.communicate(timeout=LOAD_TIMEOUT_S)
        results[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, "")
    return results


@pytest.mark.parametrize(
    "case",
    ["editable, repository root (dg check defs)", "non-editable, repository root", "non-editable, another folder"],
)
def test_code_location_loads(load_results, case):
    result = load_results[case]
    assert result.returncode == 0, f"{case}: the code location did not load\n{result.stdout[-4000:]}"
    said_so = "All definitions loaded successfully" in result.stdout or "Validation successful" in result.stdout
    assert said_so, f"{case}: no success line\n{result.stdout[-4000:]}"


def test_the_checkout_layout_is_what_the_loads_exercise():
    # The shadowing the non-editable root case guards against is real only while the checkout's
    # package folder lacks the sub-packages that the installed copy has.
    assert not (ROOT / "risk_dagster" / "data_contracts").exists()
    assert (ROOT / "data_contracts" / "sources.yaml").is_file()
    assert (ROOT / "regulatory_templates" / "print.css").is_file()
