"""``spikecast fit | validate | test | predict``: a LightningCLI over the forecasting parts.

One namespace (``lightning.pytorch``): ``ForecastModule`` as the model and
``WindowDataModule`` as the data, configured from YAML (``--config``) and the command line.
The data module's shape (channels, targets, window) is linked into the model, so a config
names the dataset and window once. A config that names an unknown dataset, encoder,
optimizer, ... fails with a :class:`~spikecast.experiment.registry.ConfigError` (which ``spikecast``
prints as one line) before any training starts.

``--data.data`` (``data: {data: ...}`` in a config) takes a registered dataset name or the
path of your own ``.csv`` / ``.parquet`` file (:func:`spikecast.data.read_table`), with
``--data.time_col``, ``--data.id_col`` (long files) and ``--data.freq`` when the defaults do
not fit::

    spikecast fit --config configs/fast/base.yaml --config configs/fast/ts_lif.yaml \
        --data.data my_hourly.csv --data.time_col timestamp --data.freq h
    spikecast predict ... --ckpt_path best.ckpt --output forecasts.parquet

``spikecast predict`` writes the forecasts (:class:`ForecastWriter`) to ``--output PATH``
(``.csv`` or ``.parquet``, by the suffix; default ``forecasts.csv`` in
``trainer.default_root_dir``): the time stamps (and ``unique_id`` for long data), the point
forecasts in the data's units and, for quantile models, ``<target>_q<level>`` columns.

Lightning's own messages (seed, "GPU available", logger tips, model summary) and its
deprecation warning about torch's ``LeafSpec`` are shown only with ``--verbose``; the progress
bar and the test metrics always are. ``spikecast test`` ends with a note that its metrics are
on the standardised scale.
"""

from __future__ import annotations

import contextlib
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import BasePredictionWriter
from lightning.pytorch.cli import LightningCLI

from spikecast.atomic import atomic_path
from spikecast.data.frames import Panel, future_index
from spikecast.data.windows import WindowDataModule
from spikecast.exceptions import ConfigError, SpikecastError
from spikecast.forecaster import _quiet_lightning
from spikecast.models.module import ForecastModule

__all__ = ["ForecastCLI", "ForecastWriter", "run_lightning_cli", "run_command", "TEST_NOTE",
           "forecast_frame", "check_output_path", "OUTPUT_SUFFIXES"]

#: printed after ``spikecast test``: what scale its metrics are on
TEST_NOTE = (
    "note: test_mse and test_mae are on the standardised scale (every column scaled by the "
    "mean and standard deviation of its training rows), not in the data's units; for errors "
    "in the data's units, compare the forecasts CSV of `spikecast predict` with the data, or "
    "backtest in Python (spikecast.backtest.backtest with a NeuralForecaster)"
)


#: the forecast file types :class:`ForecastWriter` writes, by suffix
OUTPUT_SUFFIXES = (".csv", ".parquet")


def check_output_path(path: str | None) -> str | None:
    """``path`` if :class:`ForecastWriter` can write it (a ``.csv`` or ``.parquet`` file,
    parquet with pyarrow or fastparquet installed), else a :class:`ConfigError`."""
    if path is None:
        return None
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise ConfigError(f"--output {path}: the forecasts file must end in "
                          f"{' or '.join(OUTPUT_SUFFIXES)}, got {suffix or 'no suffix'!r}")
    if suffix == ".parquet" and not any(importlib.util.find_spec(engine) is not None
                                        for engine in ("pyarrow", "fastparquet")):
        raise ConfigError(f"--output {path}: writing parquet needs pyarrow or fastparquet, "
                          "and neither is installed; install one (pip install pyarrow) or "
                          "write a .csv file")
    return path


def forecast_frame(panel: Panel, points: np.ndarray, columns: list[str], horizon: int,
                   quantiles: np.ndarray | None = None,
                   levels: list[float] | None = None) -> pd.DataFrame:
    """The point forecasts ``points [N, H, C]`` (and ``quantiles [N, H, C, Q]`` at
    ``levels``) that continue the ``N`` series of ``panel``, as one table: the series id
    (``unique_id``, long data only), the time stamps (``ds`` for long data, else the data's
    time column name), then per target its point forecast and, with quantiles, one
    ``<target>_q<level>`` column per level (``y_q0.1`` for long data)."""
    if quantiles is None or not levels:
        levels, quantiles = [], np.zeros((*np.shape(points), 0))
    parts = []
    for i, (index, freq, uid) in enumerate(zip(panel.indexes, panel.freqs, panel.ids)):
        stamps = future_index(index, freq, horizon,
                              what=f"series {uid!r}" if uid is not None else "the data")
        table: dict[str, object] = {"unique_id": uid} if panel.kind == "long" else {}
        table["ds" if panel.kind == "long" else (index.name or "ds")] = stamps
        for c, name in enumerate(columns):
            table[name] = points[i, :, c]
            for k, level in enumerate(levels):
                table[f"{name}_q{level:g}"] = quantiles[i, :, c, k]
        parts.append(pd.DataFrame(table))
    return pd.concat(parts, ignore_index=True)


class ForecastWriter(BasePredictionWriter):
    """Write ``spikecast predict``'s forecasts, in the data's original units, as CSV or
    parquet (by the file's suffix).

    The outputs are unscaled by the data module (:meth:`WindowDataModule.unscale`, the same
    inverse as ``NeuralForecaster.predict``) and laid out by :func:`forecast_frame`: the time
    stamps after the end of every series (with the series id for long data), then the point
    forecasts and, for quantile models, one column per target and quantile level. The file
    is replaced atomically (:func:`spikecast.atomic.atomic_path`).

    Args:
        path: the ``.csv`` or ``.parquet`` file (default: ``forecasts.csv`` in the trainer's
            ``default_root_dir``); ``spikecast predict --output PATH`` sets it.
    """

    def __init__(self, path: str | None = None):
        super().__init__(write_interval="epoch")
        self.path = check_output_path(path)
        self.written: Path | None = None

    def write_on_epoch_end(self, trainer, pl_module, predictions, batch_indices) -> None:
        """Unscale, format and write every forecast of the predict epoch."""
        datamodule = trainer.datamodule
        values = datamodule.unscale(torch.cat(predictions))  # [N, H, C] or [N, H, C, Q]
        frame = forecast_frame(datamodule.panel, pl_module.point_of(values),
                               datamodule.target_columns, datamodule.horizon,
                               quantiles=values if values.ndim == 4 else None,
                               levels=getattr(pl_module, "quantiles", None))
        path = Path(self.path or Path(trainer.default_root_dir) / "forecasts.csv")
        with atomic_path(path, suffix=path.suffix) as tmp:
            if path.suffix.lower() == ".parquet":
                frame.to_parquet(tmp, index=False)
            else:
                frame.to_csv(tmp, index=False)
        self.written = path
        print(f"spikecast predict: wrote {len(values)} forecast(s) of {datamodule.horizon} "
              f"steps to {path}")


class ForecastCLI(LightningCLI):
    """LightningCLI with the data module's window and channels linked into the model.

    Args:
        *args, **kwargs: :class:`~lightning.pytorch.cli.LightningCLI`'s.
        output: where the quiet output (no ``--verbose``) is entered, to be left by the
            caller when the command ends (default: a stack of this instance, never left).
    """

    def __init__(self, *args, output: contextlib.ExitStack | None = None, **kwargs):
        self._output = contextlib.ExitStack() if output is None else output
        super().__init__(*args, **kwargs)

    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        """LightningCLI's subcommands; ``Trainer.validate/test``'s own ``verbose`` (print the
        results, always done here) gives way to ``--verbose``."""
        return {name: skip | {"verbose"} for name, skip in LightningCLI.subcommands().items()}

    def add_arguments_to_parser(self, parser) -> None:
        """``--verbose``; link ``data.lookback/horizon`` and the data's channels into the
        model."""
        parser.add_argument("--verbose", action="store_true",
                            help="show Lightning's messages (seed, accelerators, tips, model "
                            "summary) and warnings about its own dependencies")
        parser.link_arguments("data.lookback", "model.lookback")
        parser.link_arguments("data.horizon", "model.horizon")
        parser.link_arguments("data.num_channels", "model.input_size", apply_on="instantiate")
        parser.link_arguments("data.target_positions", "model.target_positions",
                              apply_on="instantiate")
        parser.link_arguments("data.future_positions", "model.future_positions",
                              apply_on="instantiate")

    def parse_arguments(self, parser, args) -> None:
        """Parse, then silence Lightning (before it seeds) unless ``--verbose``."""
        super().parse_arguments(parser, args)
        subcommand = self.config.get("subcommand")
        config = self.config.get(subcommand) if subcommand else self.config
        if not (config is not None and config.get("verbose")):
            self._output.enter_context(_quiet_lightning(False))

    def after_test(self) -> None:
        """Say on which scale the test metrics are."""
        print(TEST_NOTE)

    def _prepare_subcommand_parser(self, klass: type, subcommand: str, **kwargs):
        """LightningCLI's parser of ``subcommand``, with ``--output`` for ``predict``."""
        parser = super()._prepare_subcommand_parser(klass, subcommand, **kwargs)
        if subcommand == "predict":
            parser.add_argument("--output", type=str | None, default=None,
                                help="the forecasts file, .csv or .parquet (default: "
                                "forecasts.csv in trainer.default_root_dir)")
        return parser

    def before_predict(self) -> None:
        """Write the forecasts (a :class:`ForecastWriter`, to ``--output`` if given) unless
        the config adds its own prediction writer."""
        output = check_output_path((self.config.get("predict") or {}).get("output"))
        # Trainer.__init__ sets `callbacks` through its callback connector; Lightning does
        # not declare the attribute on the class
        callbacks: list = self.trainer.callbacks  # type: ignore[attr-defined]
        writers = [c for c in callbacks if isinstance(c, BasePredictionWriter)]
        if not writers:
            callbacks.append(ForecastWriter(output))
        elif output is not None:
            ours = [c for c in writers if isinstance(c, ForecastWriter)]
            if not ours:
                raise ConfigError(f"--output {output}: the config adds its own prediction "
                                  f"writer ({type(writers[0]).__name__}), which --output "
                                  "cannot redirect; drop one of them")
            for writer in ours:
                writer.path = output

    def instantiate_classes(self) -> None:
        """Build the data module, model and trainer; a bad value in the config (unknown
        dataset or encoder, missing data file, ...) raises :class:`ConfigError`."""
        try:
            super().instantiate_classes()
        except (SpikecastError, ValueError, FileNotFoundError) as err:
            # the data module loads its dataset here (linked channels), the model builds its
            # encoder: errors are about the config's values, not a failure of training
            raise ConfigError(str(err)) from err


def run_lightning_cli(args: list[str] | None = None) -> ForecastCLI:
    """Run a Lightning subcommand (``fit``, ``validate``, ``test``, ``predict``).

    Args:
        args: the arguments after ``spikecast`` (default: ``sys.argv[1:]``).
    """
    with contextlib.ExitStack() as output:  # Lightning's output is quiet until it returns
        return ForecastCLI(
            ForecastModule,
            WindowDataModule,
            args=args,
            save_config_kwargs={"overwrite": True},
            seed_everything_default=0,
            output=output,
        )


def _check_config_files(argv: list[str]) -> None:
    """Fail with one line on a missing or invalid ``--config`` file (jsonargparse would
    print its whole usage first)."""
    from spikecast.experiment.config import read_yaml

    for i, arg in enumerate(argv):
        if arg in ("--config", "-c") and i + 1 < len(argv):
            read_yaml(argv[i + 1])
        elif arg.startswith("--config="):
            read_yaml(arg.split("=", 1)[1])


def run_command(args: list[str] | None, argv: list[str]) -> int:
    """``spikecast fit | validate | test | predict``: check the config files in ``argv``,
    then run the Lightning CLI on ``args`` (``None``: it reads ``sys.argv``)."""
    _check_config_files(argv)
    run_lightning_cli(args)
    return 0
