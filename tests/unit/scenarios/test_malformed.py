"""The malformed corpus: every file is refused with its expected rule and a distinct message."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from risk_dagster.cli import app
from risk_dagster.errors import InputFileError
from risk_dagster.scenarios.inspect import inspect_file
from risk_dagster.scenarios.registry import read_scenario_files

MALFORMED = Path(__file__).resolve().parents[2] / "fixtures" / "malformed"
EXPECTED: dict[str, str] = yaml.safe_load((MALFORMED / "EXPECTED.yaml").read_text(encoding="utf-8"))
runner = CliRunner()


def test_corpus_is_complete() -> None:
    files = sorted(p.name for p in MALFORMED.iterdir() if p.name != "EXPECTED.yaml")
    assert files == sorted(EXPECTED)
    assert len(files) >= 22


def _refusal(name: str) -> InputFileError:
    with pytest.raises(InputFileError) as info:
        read_scenario_files([MALFORMED / name])
    return info.value


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_refused_with_expected_rule(name: str) -> None:
    error = _refusal(name)
    assert error.rule == EXPECTED[name]
    assert name in str(error)
    assert f": {EXPECTED[name]}: " in str(error)
    assert "\n" not in str(error)
    with pytest.raises(InputFileError) as again:
        inspect_file(MALFORMED / name)
    assert str(again.value) == str(error)


def test_messages_are_distinct() -> None:
    messages = [_refusal(name).message for name in sorted(EXPECTED)]
    assert len(set(messages)) == len(messages)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cli_refuses_with_one_line(name: str) -> None:
    result = runner.invoke(app, ["scenarios", "inspect", str(MALFORMED / name)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert name in lines[0] and EXPECTED[name] in lines[0]
