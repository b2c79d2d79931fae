"""Measured CSV series: resampled to the step; bad files refused with the line and reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gridledger.sim.errors import MeasuredDataError
from gridledger.sim.exogenous import compute_exogenous
from gridledger.sim.measured import read_series_csv
from gridledger.sim.runner import simulate_run, tables_of
from gridledger.sim.scenario import CsvSeries
from gridledger.sim.scenario_load import parse_scenario

T0 = 1_800_057_600  # 2027-01-16T00:00:00Z


def _csv(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_finer_data_is_averaged_over_each_step(tmp_path: Path) -> None:
    # One sample a minute for two hours: 0, 1, 2, ... W; hourly means are 29.5 and 89.5 W.
    rows = "".join(f"{T0 + 60 * k},{k}\n" for k in range(120))
    path = _csv(tmp_path, "timestamp,p_w\n" + rows)
    out = read_series_csv(CsvSeries(path, "p_w"), T0, 3600, 2)
    np.testing.assert_allclose(out, [29.5, 89.5])


def test_coarser_data_is_interpolated_in_time(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "when,other,p_w\n"
        "2027-01-16T00:00:00Z,x,0\n"
        "2027-01-16T01:00:00+00:00,y,3600\n"
        "2027-01-16T03:00:00,z,3600\n",  # no offset: UTC
    )
    out = read_series_csv(CsvSeries(path, "p_w", "when"), T0, 900, 12)
    np.testing.assert_allclose(out, [0, 900, 1800, 2700] + [3600] * 8)


BAD_FILES = [
    ("time,p_w\n1,2\n", 1, "no column 'timestamp' in the header"),
    ("timestamp,load\n1,2\n", 1, "no column 'p_w' in the header"),
    (f"timestamp,p_w\n{T0},1\n{T0 + 60},2,3\n", 3, "expected 2 fields as in the header, got 3"),
    (f"timestamp,p_w\n{T0},1\n\nyesterday,2\n", 4, "timestamp 'yesterday' is neither"),
    (f"timestamp,p_w\n{T0},1\n{T0 + 60},2 kW\n", 3, "p_w '2 kW' is not a number"),
    (f"timestamp,p_w\n{T0},1\n{T0 + 60},-4\n", 3, "p_w must be >= 0, got -4"),
    (f"timestamp,p_w\n{T0},nan\n", 2, "must be finite"),
    (f"timestamp,p_w\n{T0},1\n{T0 + 60},2\n{T0 + 60},3\n", 4, "is not after the one on line 3"),
    ("timestamp,p_w\n", None, "no data rows after the header"),
    (f"timestamp,p_w\n{T0 + 60},1\n{T0 + 7200},2\n", None, "samples cover 2027-01-16T00:01:00"),
]


@pytest.mark.parametrize(("text", "line", "reason"), BAD_FILES)
def test_bad_files_are_refused_with_line_and_reason(
    tmp_path: Path, text: str, line: int | None, reason: str
) -> None:
    path = _csv(tmp_path, text)
    with pytest.raises(MeasuredDataError) as info:
        read_series_csv(CsvSeries(path, "p_w"), T0, 3600, 2)
    assert info.value.line == line
    assert reason in info.value.reason
    where = f"{path}:{line}: " if line is not None else f"{path}: "
    assert str(info.value).startswith(where)


def test_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"timestamp,p_w\n1,\xe9\n")
    with pytest.raises(MeasuredDataError, match="not UTF-8"):
        read_series_csv(CsvSeries(path, "p_w"), 1, 60, 1)


def test_air_temperature_may_be_negative(tmp_path: Path) -> None:
    path = _csv(tmp_path, f"timestamp,t_c\n{T0},-5\n{T0 + 3600},-3\n")
    out = read_series_csv(CsvSeries(path, "t_c"), T0, 3600, 2, allow_negative=True)
    np.testing.assert_array_equal(out, [-5.0, -3.0])


def test_a_scenario_runs_on_measured_load_pv_and_weather(tmp_path: Path) -> None:
    hours = range(0, 25)
    _csv(
        tmp_path,
        "timestamp,p_w\n" + "".join(f"{T0 + 3600 * h},{1000 + h}\n" for h in hours),
        "load.csv",
    )
    _csv(
        tmp_path,
        "timestamp,p_w\n" + "".join(f"{T0 + 3600 * h},{50 * h}\n" for h in hours),
        "pv.csv",
    )
    _csv(
        tmp_path,
        "timestamp,ghi\n" + "".join(f"{T0 + 3600 * h},{10 * h}\n" for h in hours),
        "ghi.csv",
    )
    text = f"""
[scenario]
name = "measured"
dt_s = 1800
n_steps = 48
start_ts = {T0}
[weather]
ghi_csv = {{ path = "ghi.csv", column = "ghi" }}
[[microgrids]]
name = "M"
[microgrids.load]
csv = {{ path = "load.csv", column = "p_w" }}
[microgrids.pv]
n_panels = 1
csv = {{ path = "pv.csv", column = "p_w" }}
"""
    scenario = parse_scenario(text, source=tmp_path / "measured.toml")
    exo = compute_exogenous(scenario)
    np.testing.assert_allclose(exo.p_load_w["M"][:4], [1000, 1000.5, 1001, 1001.5])
    np.testing.assert_allclose(exo.p_pv_w["M"][:3], [0, 25, 50])
    np.testing.assert_allclose(exo.ghi_w_m2[-1], 235.0)
    ticks, _ = tables_of([("base", simulate_run(scenario, "base"))])
    np.testing.assert_allclose(ticks["p_pcc_w"], exo.p_load_w["M"] - exo.p_pv_w["M"])
