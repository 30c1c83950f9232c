"""Chronological train / validation / test splits of docs/protocols.md (P1 and P2).

A split is a :class:`SplitBorders`: three row ranges by *position* (0-based, end
exclusive) that work on any DataFrame, Series or array. Each part's range includes the
``lookback`` rows before its first target, so that windows (``lookback`` inputs followed
by ``horizon`` targets, stride 1) drawn inside a part have their targets in that part only:

* **train** = rows ``0 .. train_end``; its targets are rows ``lookback .. train_end`` (the
  first ``lookback`` rows only ever serve as inputs).
* **val** = rows ``train_end - lookback .. val_end``; its targets are rows
  ``train_end .. val_end``: the first target of the first window is the border row
  ``train_end``.
* **test** = rows ``val_end - lookback .. test_end``; targets ``val_end .. test_end``.

Target ranges are contiguous and never overlap; rows from ``test_end`` on are unused. For
ETTh1 under P1 with ``lookback=96``: train = 0..8639 (targets 96..8639), val = 8544..11519
(targets 8640..11519), test = 11424..14399 (targets 11520..14399); ``range`` ends are
exclusive, so ``borders.val == range(8544, 11520)``.

Borders come from the dataset card (:mod:`spikecast.data.datasets`): fixed rows for ETT
under P1 (12 / 4 / 4 months), ratios otherwise. Ratio splits follow the deep-forecasting
reference code: ``num_train = int(n * r_train)``, ``num_test = int(n * r_test)``,
``num_val = n - num_train - num_test``.

:func:`scale_by_train` standardises with spikecast's one scaler
(:class:`spikecast.data.scaling.StandardScaler`, scikit-learn's) fitted on the training rows
only (population standard deviation, as the P1 reference code).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spikecast.data.scaling import StandardScaler
from spikecast.exceptions import DataValidationError
from spikecast.validation import Check, Integral, Interval, validate_params

__all__ = [
    "SplitBorders",
    "PARTS",
    "P1_RATIOS",
    "P2_RATIOS",
    "ratio_borders",
    "fixed_borders",
    "p1_borders",
    "p2_borders",
    "split_frame",
    "scale_by_train",
]

#: Names of the three parts, in chronological order.
PARTS = ("train", "val", "test")
#: Train / validation / test ratios of P1 for sets without fixed borders.
P1_RATIOS = (0.7, 0.1, 0.2)
#: Default train / validation / test ratios of P2.
P2_RATIOS = (0.6, 0.2, 0.2)


@dataclass(frozen=True)
class SplitBorders:
    """Row ranges (by position, end exclusive) of a chronological three-way split.

    Attributes:
        train: rows of the training part, ``range(0, train_end)``.
        val: rows read by validation windows, ``range(train_end - lookback, val_end)``.
        test: rows read by test windows, ``range(val_end - lookback, test_end)``.
        lookback: the input length the ranges were made for.
        protocol: ``"p1"``, ``"p2"`` or ``"ratio"`` (informative).

    The targets of a part are its rows after the first ``lookback``: see :meth:`targets`.
    """

    train: range
    val: range
    test: range
    lookback: int
    protocol: str = "ratio"

    def part(self, name: str) -> range:
        """The rows of part ``name`` (``"train"``, ``"val"`` or ``"test"``), inputs included."""
        if name not in PARTS:
            raise ValueError(f"unknown part {name!r}; expected one of {list(PARTS)}")
        return getattr(self, name)

    def targets(self, name: str) -> range:
        """The rows of part ``name`` that are forecast targets (its rows after ``lookback``).

        ``targets("val").start`` is the validation border row, ``targets("test").start``
        the test border row; the three target ranges are contiguous and disjoint.
        """
        rows = self.part(name)
        return range(rows.start + self.lookback, rows.stop)

    def slice(self, name: str) -> slice:
        """Part ``name`` as a ``slice`` for ``frame.iloc[...]`` or ``array[...]``."""
        rows = self.part(name)
        return slice(rows.start, rows.stop)

    def take(self, data, name: str):
        """Part ``name`` of ``data`` by position (``.iloc`` for pandas, slicing otherwise)."""
        if isinstance(data, (pd.DataFrame, pd.Series)):
            return data.iloc[self.slice(name)]
        return data[self.slice(name)]

    @property
    def n_rows_needed(self) -> int:
        """Rows the split uses (``test.stop``); later rows are unused."""
        return self.test.stop

    def as_dict(self) -> dict[str, range]:
        """``{"train": range, "val": range, "test": range}``."""
        return {name: self.part(name) for name in PARTS}


def _valid_ratios(ratios) -> bool:
    try:
        values = tuple(float(r) for r in ratios)
    except (TypeError, ValueError):
        raise ValueError(f"ratios must be three numbers, got {ratios!r}") from None
    return len(values) == 3 and min(values) > 0 and abs(sum(values) - 1.0) <= 1e-9


def _at_least(minimum: int) -> Interval:
    return Interval(Integral, minimum, None, closed="left", desc=f"an integer >= {minimum}")


#: what the arguments of :func:`ratio_borders` and :func:`fixed_borders` may be
#: (:mod:`spikecast.validation`)
SPLIT_CONSTRAINTS: dict[str, list] = {
    "n_rows": [_at_least(0)],
    "lookback": [_at_least(1)],
    "horizon": [_at_least(1)],
    "ratios": [Check(_valid_ratios, "three positive numbers (train, val, test) summing to 1")],
}


def _ratios(ratios) -> tuple[float, float, float]:
    """Checked ratios (:data:`SPLIT_CONSTRAINTS`) as three floats."""
    train, val, test = (float(r) for r in ratios)
    return train, val, test


def _ratio_sizes(n: int, ratios: tuple[float, float, float]) -> tuple[int, int, int]:
    num_train = int(n * ratios[0])
    num_test = int(n * ratios[2])
    return num_train, n - num_train - num_test, num_test


def _ratio_fits(n: int, ratios, lookback: int, horizon: int) -> bool:
    num_train, num_val, num_test = _ratio_sizes(n, ratios)
    return num_train >= lookback + horizon and num_val >= horizon and num_test >= horizon


def _min_rows(ratios, lookback: int, horizon: int, above: int) -> int:
    """The smallest row count above ``above`` for which every part holds one window."""
    # int(n * r) >= k needs n >= k / r; num_val >= n * r_val always (floors only add), so
    # every n >= high fits and the search below ends there at the latest.
    low = max(above + 1, math.floor(max((lookback + horizon) / ratios[0],
                                        horizon / ratios[2])) - 2)
    high = math.ceil(max((lookback + horizon) / ratios[0], horizon / ratios[1],
                         horizon / ratios[2])) + 3
    for n in range(low, max(low, high) + 1):
        if _ratio_fits(n, ratios, lookback, horizon):
            return n
    return max(low, high)  # pragma: no cover - the bound above always fits


def _rounding_note(n_rows: int, ratios, lookback: int, horizon: int) -> str:
    """The int() rounding can make a slightly shorter series fit; say so when it does."""
    for m in range(n_rows - 1, max(n_rows - 6, 0), -1):
        if _ratio_fits(m, ratios, lookback, horizon):
            return f"; because of the int() rounding of the ratios, {m} rows would fit too"
    return ""


def ratio_borders(n_rows: int, lookback: int, ratios: Sequence[float] = P1_RATIOS, *,
                  horizon: int = 1, protocol: str = "ratio") -> SplitBorders:
    """Split ``n_rows`` rows by ratios with the ``lookback`` offset.

    ``num_train = int(n_rows * ratios[0])``, ``num_test = int(n_rows * ratios[2])``,
    ``num_val = n_rows - num_train - num_test``; validation starts at
    ``num_train - lookback`` and test at ``n_rows - num_test - lookback`` (the
    deep-forecasting reference code), so the first validation / test targets are rows
    ``num_train`` and ``n_rows - num_test``. Every row is used.

    Args:
        n_rows: length of the series.
        lookback: input window length ``L`` (>= 1).
        ratios: train, validation and test fractions (positive, summing to 1).
        horizon: forecast length ``H`` (>= 1); every part must hold at least one window.
        protocol: label stored in the result.

    Raises:
        spikecast.exceptions.InvalidParameterError (a ``ValueError``): bad arguments.
        spikecast.exceptions.DataValidationError (a ``ValueError``): too few rows; the
            message says how many rows are needed.
    """
    if isinstance(ratios, Iterator):  # read once, checked and used
        ratios = tuple(ratios)
    validate_params({"n_rows": n_rows, "lookback": lookback, "horizon": horizon,
                     "ratios": ratios}, SPLIT_CONSTRAINTS)
    n_rows, lookback, horizon = int(n_rows), int(lookback), int(horizon)
    ratios = _ratios(ratios)
    if not _ratio_fits(n_rows, ratios, lookback, horizon):
        need = _min_rows(ratios, lookback, horizon, above=n_rows)
        num_train, num_val, num_test = _ratio_sizes(n_rows, ratios)
        raise DataValidationError(
            f"{n_rows} rows are too few for a {'/'.join(f'{r:g}' for r in ratios)} split with "
            f"lookback={lookback} and horizon={horizon}: at least {need} rows are needed "
            f"(the training part needs lookback + horizon = {lookback + horizon} rows and has "
            f"{num_train}; validation and test need horizon = {horizon} rows each and have "
            f"{num_val} and {num_test})" + _rounding_note(n_rows, ratios, lookback, horizon))
    num_train, num_val, num_test = _ratio_sizes(n_rows, ratios)
    return SplitBorders(
        train=range(0, num_train),
        val=range(num_train - lookback, num_train + num_val),
        test=range(n_rows - num_test - lookback, n_rows),
        lookback=lookback,
        protocol=protocol,
    )


def fixed_borders(n_rows: int, lookback: int, borders: Sequence[int], *, horizon: int = 1,
                  protocol: str = "p1", name: str | None = None) -> SplitBorders:
    """Split at fixed rows ``borders = (train_end, val_end, test_end)`` with the lookback offset.

    train = ``range(0, train_end)``, val = ``range(train_end - lookback, val_end)``, test =
    ``range(val_end - lookback, test_end)``; rows from ``test_end`` on are unused.

    Raises:
        spikecast.exceptions.InvalidParameterError: ``n_rows``, ``lookback`` or ``horizon``
            is not an integer in its range.
        spikecast.exceptions.DataValidationError: fewer than ``test_end`` rows, or a part too
            short for one window (the message says what length is needed).
    """
    validate_params({"n_rows": n_rows, "lookback": lookback, "horizon": horizon},
                    SPLIT_CONSTRAINTS)
    n_rows, lookback, horizon = int(n_rows), int(lookback), int(horizon)
    if len(borders) != 3 or not 0 < borders[0] < borders[1] < borders[2]:
        raise DataValidationError(f"borders must be three increasing positive row numbers, "
                                  f"got {list(borders)}")
    train_end, val_end, test_end = (int(b) for b in borders)
    what = f"the fixed {protocol.upper()} borders {[train_end, val_end, test_end]}" + (
        f" of {name}" if name else "")
    if n_rows < test_end:
        raise DataValidationError(
            f"{n_rows} rows are too few for {what}: at least {test_end} rows are needed")
    if train_end < lookback + horizon:
        raise DataValidationError(
            f"lookback={lookback} and horizon={horizon} do not fit {what}: the training part "
            f"has {train_end} rows and needs lookback + horizon = {lookback + horizon}")
    for part, size in (("validation", val_end - train_end), ("test", test_end - val_end)):
        if size < horizon:
            raise DataValidationError(
                f"horizon={horizon} does not fit {what}: the {part} part has {size} target "
                f"rows and needs at least {horizon}")
    return SplitBorders(
        train=range(0, train_end),
        val=range(train_end - lookback, val_end),
        test=range(val_end - lookback, test_end),
        lookback=lookback,
        protocol=protocol,
    )


def _card_split(dataset: str | os.PathLike | None, protocol: str):
    if dataset is None:
        return None, None
    from spikecast.data.datasets import _match_card

    card = _match_card(dataset)
    if card is None:
        return None, None
    return card["name"], card["split"][protocol]


def p1_borders(n_rows: int, lookback: int, dataset: str | os.PathLike | None = None, *,
               horizon: int = 1) -> SplitBorders:
    """The P1 split (docs/protocols.md) of a series of ``n_rows`` rows.

    ``dataset`` (a name, alias or file path matched against the dataset cards) selects the
    card's P1 split: fixed borders for ETT (ETTh: 8640 / 11520 / 14400 rows = 12 / 4 / 4
    months; ETTm: four times that), else its ratios. Without a matching card the
    0.7 / 0.1 / 0.2 convention applies. See the module docstring for which rows are targets.

    Example:
        >>> b = p1_borders(17420, 96, dataset="ETTh1")
        >>> b.train, b.val, b.test
        (range(0, 8640), range(8544, 11520), range(11424, 14400))
    """
    name, spec = _card_split(dataset, "p1")
    if spec is not None and "borders" in spec:
        return fixed_borders(n_rows, lookback, spec["borders"], horizon=horizon,
                             protocol="p1", name=name)
    ratios = spec["ratios"] if spec is not None else P1_RATIOS
    return ratio_borders(n_rows, lookback, ratios, horizon=horizon, protocol="p1")


def p2_borders(n_rows: int, lookback: int, dataset: str | os.PathLike | None = None, *,
               ratios: Sequence[float] | None = None, horizon: int = 1) -> SplitBorders:
    """The P2 split (docs/protocols.md): chronological ratios with the lookback offset.

    The ratios are ``ratios`` if given, else the card's P2 ratios of ``dataset`` (0.7 / 0.2
    / 0.1 for the traffic-speed sets METR-LA and PEMS-BAY), else 0.6 / 0.2 / 0.2. Row counts
    follow :func:`ratio_borders`; the first validation and test targets are the border rows.

    Note: the SeqSNN reference code applies the ratios to the number of *windows*
    (``n - window - horizon + 1``) rather than rows; the row-based split here keeps the
    P1 convention, so counts can differ by about ``window + horizon`` rows.
    """
    if ratios is None:
        _, spec = _card_split(dataset, "p2")
        if spec is not None and "borders" in spec:
            return fixed_borders(n_rows, lookback, spec["borders"], horizon=horizon,
                                 protocol="p2")
        ratios = spec["ratios"] if spec is not None else P2_RATIOS
    return ratio_borders(n_rows, lookback, ratios, horizon=horizon, protocol="p2")


def split_frame(data, borders: SplitBorders) -> dict:
    """``{"train": ..., "val": ..., "test": ...}``: the parts of ``data`` by position.

    Each part includes its ``lookback`` input rows (see :meth:`SplitBorders.targets`).
    """
    _check_length(data, borders)
    return {name: borders.take(data, name) for name in PARTS}


def _check_length(data, borders: SplitBorders) -> None:
    if len(data) < borders.test.stop:
        raise DataValidationError(f"the data has {len(data)} rows but the split needs "
                                  f"{borders.test.stop}")


def scale_by_train(data, borders: SplitBorders, scaler: StandardScaler | None = None):
    """Standardise ``data`` with a ``StandardScaler`` fitted on the training rows only.

    The scaler is fitted on rows ``borders.train`` (``0 .. train_end``, the P1 reference
    code's ``train_data``), with scikit-learn's population standard deviation (``ddof=0``);
    every row of ``data`` (including unused rows after the test part) is transformed.

    Args:
        data: a DataFrame (or Series, or 1-D / 2-D array) with at least ``test.stop`` rows.
        borders: the split.
        scaler: an unfitted scaler to use (default ``StandardScaler()``).

    Returns:
        ``(scaled, scaler)``: ``scaled`` has the type, index and columns of ``data``
        (float64 values); ``scaler`` is fitted (``mean_``, ``scale_``).
    """
    _check_length(data, borders)
    scaler = StandardScaler() if scaler is None else scaler
    if isinstance(data, pd.Series):
        scaled, scaler = scale_by_train(data.to_frame(), borders, scaler)
        return scaled.iloc[:, 0].rename(data.name), scaler
    if isinstance(data, pd.DataFrame):
        values = data.to_numpy(dtype="float64")
        scaler.fit(values[borders.slice("train")])
        out = pd.DataFrame(scaler.transform(values), index=data.index, columns=data.columns)
        return out, scaler
    values = np.asarray(data, dtype="float64")
    if values.ndim == 1:
        scaled, scaler = scale_by_train(values[:, None], borders, scaler)
        return scaled[:, 0], scaler
    scaler.fit(values[borders.slice("train")])
    return scaler.transform(values), scaler
