"""``spikecast fit | validate | test | predict``: a LightningCLI over the forecasting parts.

One namespace (``lightning.pytorch``): ``ForecastModule`` as the model and
``WindowDataModule`` as the data, configured from YAML (``--config``) and the command line.
The data module's shape (channels, targets, window) is linked into the model, so a config
names the dataset and window once. A config that names an unknown dataset, encoder,
optimizer, ... fails with a :class:`~spikecast.experiment.registry.ConfigError` (which ``spikecast``
prints as one line) before any training starts.
"""

from __future__ import annotations

from pathlib import Path

import torch
from lightning.pytorch.callbacks import BasePredictionWriter
from lightning.pytorch.cli import LightningCLI

from spikecast.data.frames import format_forecasts
from spikecast.data.windows import WindowDataModule
from spikecast.exceptions import ConfigError, SpikecastError
from spikecast.models.module import ForecastModule

__all__ = ["ForecastCLI", "ForecastWriter", "run_lightning_cli", "run_command"]


class ForecastWriter(BasePredictionWriter):
    """Write ``spikecast predict``'s forecasts, in the data's original units, as CSV.

    The outputs are unscaled by the data module (:meth:`WindowDataModule.unscale`, the same
    inverse as ``NeuralForecaster.predict``) and indexed by the time stamps after the end of
    every series, in the data's form (wide columns, or long ``unique_id, ds, y``).

    Args:
        path: the CSV file (default: ``forecasts.csv`` in the trainer's ``default_root_dir``).
    """

    def __init__(self, path: str | None = None):
        super().__init__(write_interval="epoch")
        self.path = path
        self.written: Path | None = None

    def write_on_epoch_end(self, trainer, pl_module, predictions, batch_indices) -> None:
        """Unscale, format and write every forecast of the predict epoch."""
        datamodule = trainer.datamodule
        values = pl_module.point_of(datamodule.unscale(torch.cat(predictions)))
        frame = format_forecasts(datamodule.panel, list(values), datamodule.target_columns,
                                 datamodule.horizon)
        path = Path(self.path or Path(trainer.default_root_dir) / "forecasts.csv")
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=datamodule.panel.kind != "long")
        self.written = path
        print(f"spikecast predict: wrote {len(values)} forecast(s) of {datamodule.horizon} "
              f"steps to {path}")


class ForecastCLI(LightningCLI):
    """LightningCLI with the data module's window and channels linked into the model."""

    def add_arguments_to_parser(self, parser) -> None:
        """Link ``data.lookback/horizon`` and the data's channels into the model."""
        parser.link_arguments("data.lookback", "model.lookback")
        parser.link_arguments("data.horizon", "model.horizon")
        parser.link_arguments("data.num_channels", "model.input_size", apply_on="instantiate")
        parser.link_arguments("data.target_positions", "model.target_positions",
                              apply_on="instantiate")

    def before_predict(self) -> None:
        """Write the forecasts (a :class:`ForecastWriter`) unless the config adds its own
        prediction writer."""
        # Trainer.__init__ sets `callbacks` through its callback connector; Lightning does
        # not declare the attribute on the class
        callbacks: list = self.trainer.callbacks  # type: ignore[attr-defined]
        if not any(isinstance(c, BasePredictionWriter) for c in callbacks):
            callbacks.append(ForecastWriter())

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
    return ForecastCLI(
        ForecastModule,
        WindowDataModule,
        args=args,
        save_config_kwargs={"overwrite": True},
        seed_everything_default=0,
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
