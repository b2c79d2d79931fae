"""Measured series from CSV files (load, PV output, irradiance, air temperature).

A file has a header line and one row per sample: a timestamp column (unix seconds, or ISO
8601; a time without an offset is UTC) and value columns in the unit the scenario key names
(W for loads and PV, W/m2 for irradiance, degC for air temperature). Rows are checked one by
one, so a bad file is refused with the line and the reason; timestamps must strictly
increase and the samples must cover the scenario's steps.

Resampling to the scenario step ``dt_s`` (pandas): samples are averaged over each step
``[t, t + dt_s)`` (a mean power keeps the energy of finer data), and steps holding no sample
are interpolated linearly in time between their neighbours (coarser data).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from gridledger.sim.errors import MeasuredDataError
from gridledger.sim.profiles import FloatArray
from gridledger.sim.scenario import CsvSeries


def parse_timestamp_ts(text: str) -> float:
    """Unix seconds [s] of a CSV timestamp: a number, or ISO 8601 (UTC unless an offset)."""
    try:
        return float(text)
    except ValueError:
        pass
    moment = datetime.fromisoformat(text.strip())  # ValueError on anything else
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            for row in reader:
                yield reader.line_num, row
    except OSError as exc:
        raise MeasuredDataError(path, None, f"cannot read the file: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise MeasuredDataError(path, None, f"not UTF-8 text: {exc.reason}") from exc
    except csv.Error as exc:
        raise MeasuredDataError(path, None, f"not valid CSV: {exc}") from exc


def read_samples(series: CsvSeries, allow_negative: bool = False) -> tuple[FloatArray, FloatArray]:
    """The validated samples of ``series``: (timestamps [unix s], values [the column's unit])."""
    path = series.path
    rows = _rows(path)
    header_line, header = next(rows, (1, []))
    header = [name.strip() for name in header]
    for name in (series.timestamp_column, series.column):
        if name not in header:
            raise MeasuredDataError(
                path, header_line, f"no column {name!r} in the header (columns: {header})"
            )
    i_ts, i_value = header.index(series.timestamp_column), header.index(series.column)
    stamps: list[float] = []
    values: list[float] = []
    previous_line = header_line
    for line, row in rows:
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise MeasuredDataError(
                path, line, f"expected {len(header)} fields as in the header, got {len(row)}"
            )
        raw_ts, raw_value = row[i_ts].strip(), row[i_value].strip()
        try:
            ts = parse_timestamp_ts(raw_ts)
        except ValueError:
            raise MeasuredDataError(
                path, line, f"timestamp {raw_ts!r} is neither unix seconds nor ISO 8601"
            ) from None
        try:
            value = float(raw_value)
        except ValueError:
            raise MeasuredDataError(
                path, line, f"{series.column} {raw_value!r} is not a number"
            ) from None
        if not (math.isfinite(value) and math.isfinite(ts)):
            raise MeasuredDataError(path, line, f"{raw_ts}, {raw_value}: must be finite")
        if value < 0 and not allow_negative:
            raise MeasuredDataError(path, line, f"{series.column} must be >= 0, got {raw_value}")
        if stamps and ts <= stamps[-1]:
            raise MeasuredDataError(
                path, line, f"timestamp {raw_ts!r} is not after the one on line {previous_line}"
            )
        stamps.append(ts)
        values.append(value)
        previous_line = line
    if not stamps:
        raise MeasuredDataError(path, None, "no data rows after the header")
    return np.asarray(stamps, dtype=np.float64), np.asarray(values, dtype=np.float64)


def resample_to_steps(
    stamps_ts: FloatArray, values: FloatArray, start_ts: int, dt_s: int, n_steps: int
) -> FloatArray:
    """Samples at ``stamps_ts`` [unix s] as one value per step of ``dt_s`` [s] from
    ``start_ts`` [unix s]: the mean of the samples inside each step, interpolated linearly
    in time across steps without samples. The samples must cover every step's start."""
    series = pd.Series(values, index=pd.to_datetime(stamps_ts, unit="s", utc=True))
    origin = pd.Timestamp(start_ts, unit="s", tz="UTC")
    binned = series.resample(f"{dt_s}s", origin=origin, label="left", closed="left").mean()
    grid = pd.date_range(origin, periods=n_steps, freq=f"{dt_s}s")
    filled = binned.interpolate(method="time").reindex(grid)
    return np.asarray(filled.to_numpy(dtype=np.float64), dtype=np.float64)


def read_series_csv(
    series: CsvSeries, start_ts: int, dt_s: int, n_steps: int, allow_negative: bool = False
) -> FloatArray:
    """The measured ``series`` resampled to ``n_steps`` steps of ``dt_s`` [s] from
    ``start_ts`` [unix s]; refused (``MeasuredDataError``) unless it covers them all."""
    stamps, values = read_samples(series, allow_negative)
    last_step_ts = start_ts + (n_steps - 1) * dt_s
    if stamps[0] > start_ts or stamps[-1] < last_step_ts:

        def iso(ts: float) -> str:
            return datetime.fromtimestamp(ts, UTC).isoformat()

        raise MeasuredDataError(
            series.path,
            None,
            f"samples cover {iso(stamps[0])} .. {iso(stamps[-1])}; the scenario needs "
            f"{iso(start_ts)} .. {iso(last_step_ts)} (every step start)",
        )
    out = resample_to_steps(stamps, values, start_ts, dt_s, n_steps)
    out.flags.writeable = False
    return out
