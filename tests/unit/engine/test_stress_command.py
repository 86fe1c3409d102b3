"""``risk-dagster stress``: units and sign in the summary, the few-samples warning, the output format
told by the extension, and one-line errors naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from risk_dagster.cli import app
from risk_dagster.engine import service
from risk_dagster.engine.kernels import random_book
from risk_dagster.market.catalog import load_risk_factor_catalog
from risk_dagster.translate.shockset import ShockSet

runner = CliRunner()
N_SAMPLES = 60  # 99% tail: 60 * 0.01 < 10 samples; 95% tail: 3


def _shockset(n_samples: int = N_SAMPLES, drop: str | None = None) -> ShockSet:
    cat = load_risk_factor_catalog()
    ids = [f.id for f in cat if f.id != drop]
    kinds = [f.shock_type for f in cat if f.id != drop]
    scale = np.array([40.0 if k == "absolute_bp" else 0.08 if k == "log_return" else 4.0 for k in kinds])
    rng = np.random.default_rng(0)
    shocks = rng.standard_normal((n_samples, 3, len(ids))) * scale
    rates = [i for i, f in enumerate(ids) if f.startswith("rates.ust.")]
    shocks[:, :, rates] = rng.standard_normal((n_samples, 3, 1)) * 40.0  # a parallel shift keeps the curve a curve
    return ShockSet(shocks, np.ones(len(ids)), ids, kinds, ["2026Q1", "2026Q2", "2026Q3"], "tiny", "m", "1", 0)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("stress")
    book = d / "book.parquet"
    random_book(50, seed=3).to_parquet(book)
    shocks = _shockset().save_npz(d / "shocks.npz")
    return {"dir": d, "book": book, "shocks": shocks}


def _stress(files: dict[str, Path], out: Path, *extra: str, book: Path | None = None, shocks: Path | None = None):
    args = ["stress", "--portfolio", str(book or files["book"]), "--shocks", str(shocks or files["shocks"]),
            "--out", str(out), "--device", "cpu", *extra]
    return runner.invoke(app, args)


def _one_error_line(result, names: Path) -> str:  # noqa: ANN001
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert str(names) in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def parquet_run(files: dict[str, Path]):  # noqa: ANN201
    out = files["dir"] / "losses.parquet"
    result = _stress(files, out)
    assert result.exit_code == 0, result.output
    return result, out


# ----------------------------------------------------------------- summary: units and sign, warning
def test_summary_names_the_unit_with_its_scale_and_the_sign_convention(parquet_run) -> None:  # noqa: ANN001
    result, out = parquet_run
    text = result.stdout
    losses = pd.read_parquet(out)
    horizon = losses.groupby(["sample", "quarter"])["loss"].sum().groupby("sample").max()
    unit = "USD bn" if horizon.abs().max() >= 1e9 else "USD m" if horizon.abs().max() >= 1e6 else "USD"
    assert f"amounts in {unit}" in text
    assert "loss positive, gain negative" in text
    # the mean shown is the horizon losses' mean in that unit
    divisor = {"USD bn": 1e9, "USD m": 1e6, "USD": 1.0}[unit]
    mean_line = next(line for line in text.splitlines() if line.strip().startswith("mean "))
    assert float(mean_line.split()[1].replace(",", "")) == pytest.approx(horizon.mean() / divisor, abs=1e-3)


def test_amount_scale_shows_bn_and_m() -> None:
    assert service.amount_scale([2.5e9, -1.0]) == (1e9, "USD bn")
    assert service.amount_scale([-3.0e6, 10.0]) == (1e6, "USD m")
    assert service.amount_scale([12_345.0]) == (1.0, "USD")


def test_few_samples_get_one_warning_line_stating_the_rule(parquet_run) -> None:  # noqa: ANN001
    result, _ = parquet_run
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: few samples")]
    assert len(warnings) == 1, result.stderr
    line = warnings[0]
    assert "99% VaR and ES" in line and "95% VaR" in line and "n * (1 - q) < 10" in line and "1,000" in line
    assert "warning:" not in result.stdout


def test_tail_rule_flags_under_ten_tail_samples() -> None:
    assert service.tail_counts(300) == {"var_95": 15, "var_99": 3, "es_99": 3}
    only_99 = service.tail_warning(300)
    assert only_99 is not None and "99% VaR and ES" in only_99 and "95% VaR" not in only_99
    assert service.tail_warning(999) is not None
    assert service.tail_warning(1000) is None


# ----------------------------------------------------------------- output formats
def test_csv_gets_the_tidy_table_and_json_states_units(files: dict[str, Path], parquet_run) -> None:  # noqa: ANN001
    out = files["dir"] / "losses.csv"
    result = _stress(files, out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["currency"] == "USD" and summary["sign_convention"] == "loss positive, gain negative"
    assert summary["out_format"] == "csv" and summary["tail_samples"]["var_99"] == 0
    assert summary["warnings"][0].startswith("few samples")
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["sample", "quarter", "segment", "loss"]
    assert out.read_bytes()[:4] != b"PAR1"
    reference = pd.read_parquet(parquet_run[1])
    pd.testing.assert_frame_equal(frame, reference, check_dtype=False, rtol=1e-12)


def test_npz_gets_the_arrays(files: dict[str, Path], parquet_run) -> None:  # noqa: ANN001
    out = files["dir"] / "losses.npz"
    result = _stress(files, out)
    assert result.exit_code == 0, result.output
    with np.load(out, allow_pickle=False) as data:
        loss, segments, quarters = data["loss"], list(data["segments"]), list(data["quarters"])
    assert loss.shape == (N_SAMPLES, 3, len(segments)) and quarters == ["2026Q1", "2026Q2", "2026Q3"]
    tidy = pd.read_parquet(parquet_run[1])
    np.testing.assert_allclose(loss.reshape(-1), tidy["loss"].to_numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["losses.xlsx", "losses.json", "losses"])
def test_other_extensions_are_refused_before_pricing(files: dict[str, Path], name: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pricing(*args: object, **kwargs: object) -> None:
        raise AssertionError("priced before the output extension was checked")

    monkeypatch.setattr(service, "revalue_book", no_pricing)
    out = files["dir"] / name
    line = _one_error_line(_stress(files, out), out)
    assert ".parquet" in line and ".csv" in line and ".npz" in line
    assert not out.exists()


# ----------------------------------------------------------------- errors name the file
def test_missing_portfolio_names_the_file(files: dict[str, Path]) -> None:
    book = files["dir"] / "no_such_book.parquet"
    _one_error_line(_stress(files, files["dir"] / "l.parquet", book=book), book)


def test_invalid_portfolio_names_the_file(files: dict[str, Path]) -> None:
    book = files["dir"] / "not_a_book.csv"
    book.write_text("a,b\n1,2\n")
    _one_error_line(_stress(files, files["dir"] / "l.parquet", book=book), book)


def test_missing_shockset_names_the_file(files: dict[str, Path]) -> None:
    shocks = files["dir"] / "no_such_shocks.npz"
    _one_error_line(_stress(files, files["dir"] / "l.parquet", shocks=shocks), shocks)


@pytest.mark.parametrize("kind", ["garbage", "truncated", "single_array", "bad_shape"])
def test_corrupt_shockset_names_the_file(files: dict[str, Path], kind: str) -> None:
    shocks = files["dir"] / f"corrupt_{kind}.npz"
    if kind == "garbage":
        shocks.write_bytes(b"this is not an npz archive")
    elif kind == "truncated":
        raw = files["shocks"].read_bytes()
        shocks.write_bytes(raw[: len(raw) // 2])
    elif kind == "single_array":
        with shocks.open("wb") as handle:
            np.save(handle, np.zeros(3))
    else:
        with np.load(files["shocks"], allow_pickle=False) as data:
            fields = {k: data[k] for k in data.files}
        fields["shocks"] = fields["shocks"][:, :, 0]  # 2-D: no factor axis
        np.savez(shocks, **fields)
    _one_error_line(_stress(files, files["dir"] / "l.parquet", shocks=shocks), shocks)


@pytest.mark.parametrize("field", ["shocks", "factor_ids", "quarters", "seed", "metadata"])
def test_shockset_lacking_a_field_names_the_file_and_the_field(files: dict[str, Path], field: str) -> None:
    with np.load(files["shocks"], allow_pickle=False) as data:
        fields = {k: data[k] for k in data.files if k != field}
    shocks = files["dir"] / f"no_{field}.npz"
    np.savez(shocks, **fields)
    line = _one_error_line(_stress(files, files["dir"] / "l.parquet", shocks=shocks), shocks)
    assert field in line.split("lacks")[-1]


def test_shockset_lacking_a_factor_names_the_file_and_the_factor(files: dict[str, Path]) -> None:
    shocks = _shockset(drop="vol.vix").save_npz(files["dir"] / "no_vix.npz")
    line = _one_error_line(_stress(files, files["dir"] / "l.parquet", shocks=shocks), shocks)
    assert "vol.vix" in line
