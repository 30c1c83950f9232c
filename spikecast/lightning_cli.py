"""``spikecast fit | validate | test | predict``: a LightningCLI over the forecasting parts.

One namespace (``lightning.pytorch``): ``ForecastModule`` as the model and
``WindowDataModule`` as the data, configured from YAML (``--config``) and the command line.
The data module's shape (channels, targets, window) is linked into the model, so a config
names the dataset and window once.
"""

from __future__ import annotations

from lightning.pytorch.cli import LightningCLI

from spikecast.data.windows import WindowDataModule
from spikecast.models.module import ForecastModule

__all__ = ["ForecastCLI", "run_lightning_cli"]


class ForecastCLI(LightningCLI):
    """LightningCLI with the data module's window and channels linked into the model."""

    def add_arguments_to_parser(self, parser) -> None:
        """Link ``data.lookback/horizon`` and the data's channels into the model."""
        parser.link_arguments("data.lookback", "model.lookback")
        parser.link_arguments("data.horizon", "model.horizon")
        parser.link_arguments("data.num_channels", "model.input_size", apply_on="instantiate")
        parser.link_arguments("data.target_positions", "model.target_positions",
                              apply_on="instantiate")


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
