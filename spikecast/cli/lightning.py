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

Hostile or careless input (see :func:`run_command`): every ``--config`` file is read with
:mod:`spikecast.safe_yaml` (no aliases, bounded size) before jsonargparse sees it, and
jsonargparse itself parses YAML with the same limits; a ``class_path`` may only name a class
under :data:`ALLOWED_MODULES` or a module listed in the environment variable
``SPIKECAST_ALLOWED_MODULES`` (comma-separated module names, e.g.
``SPIKECAST_ALLOWED_MODULES=mypackage.callbacks``), checked before anything is imported; a
section (``model:``, ``data:``, ``trainer:``) must be a mapping, never a file path;
``ckpt_path`` must be a local file (or ``last`` / ``best`` / ``hpc``), never a URL, and
checkpoints are loaded weights-only; ``trainer.devices`` and ``data.num_workers`` may not
exceed the machine's accelerators / cores; the model's and the data's settings are checked
with spikecast's own rules before anything is built.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import BasePredictionWriter
from lightning.pytorch.cli import LightningCLI

from spikecast.atomic import atomic_path
from spikecast.data.frames import Panel, future_index
from spikecast.data.windows import WindowDataModule
from spikecast.exceptions import ConfigError, InvalidParameterError, SpikecastError
from spikecast.forecaster import _quiet_lightning
from spikecast.models.module import ForecastModule
from spikecast.safe_yaml import short_repr

__all__ = ["ForecastCLI", "ForecastWriter", "run_lightning_cli", "run_command", "TEST_NOTE",
           "forecast_frame", "check_output_path", "OUTPUT_SUFFIXES", "ALLOWED_MODULES",
           "ALLOWED_MODULES_ENV", "CKPT_KEYWORDS", "allowed_modules", "check_class_path",
           "check_ckpt_path", "check_config_tree", "check_parsed"]

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


#: module prefixes a config's ``class_path`` may name without being listed by the user
ALLOWED_MODULES = ("lightning", "pytorch_lightning", "torch", "spikecast")
#: environment variable with more allowed module prefixes, comma-separated
ALLOWED_MODULES_ENV = "SPIKECAST_ALLOWED_MODULES"
#: the ``ckpt_path`` keywords Lightning resolves to local files
CKPT_KEYWORDS = ("best", "last", "hpc")
#: the config sections that must be mappings (a string would be read as a file path)
_SECTIONS = ("model", "data", "trainer")


def allowed_modules() -> tuple[str, ...]:
    """:data:`ALLOWED_MODULES` plus the module prefixes the user names in the environment
    variable ``SPIKECAST_ALLOWED_MODULES`` (comma-separated, e.g. ``mypkg,other.callbacks``).

    Raises:
        ConfigError: an entry of the variable is not a dotted module name.
    """
    extra = [m.strip() for m in os.environ.get(ALLOWED_MODULES_ENV, "").split(",") if m.strip()]
    bad = [m for m in extra if not all(part.isidentifier() for part in m.split("."))]
    if bad:
        raise ConfigError(f"{ALLOWED_MODULES_ENV}: {short_repr(bad)} are not module names "
                          "(comma-separated dotted names, e.g. mypkg.callbacks)")
    return (*ALLOWED_MODULES, *extra)


def check_class_path(value: object, key: str) -> None:
    """Refuse a ``class_path`` outside :func:`allowed_modules`, before it is imported (an
    import runs the module's code). A bare class name (``ModelCheckpoint``) names a class
    that is already imported and is allowed.

    Raises:
        ConfigError: naming ``key`` and the allowed modules.
    """
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a class import path, got {short_repr(value)}")
    if "." not in value:
        return
    allowed = allowed_modules()
    if not any(value == m or value.startswith(m + ".") for m in allowed):
        raise ConfigError(f"{key}: {short_repr(value)} is not under an allowed module "
                          f"{list(allowed)}; to use it, add its module to the environment "
                          f"variable {ALLOWED_MODULES_ENV} (comma-separated)")


def check_ckpt_path(value: object, key: str = "ckpt_path") -> None:
    """Refuse a ``ckpt_path`` that is not a local, existing file or one of
    :data:`CKPT_KEYWORDS`: Lightning downloads a URL and unpickles it.

    Raises:
        ConfigError: naming ``key``.
    """
    if value is None or value in CKPT_KEYWORDS:
        return
    if not isinstance(value, (str, os.PathLike)):
        raise ConfigError(f"{key} must be the path of a local checkpoint file, got "
                          f"{short_repr(value)}")
    text = os.fspath(value)
    if "://" in text or text.lower().startswith(("http:", "https:")):
        raise ConfigError(f"{key}: {short_repr(text)} is a URL; spikecast loads only local "
                          "checkpoint files (download it yourself, check it, and pass the "
                          "file)")
    if not Path(text).expanduser().is_file():
        raise ConfigError(f"{key}: {short_repr(text)} is not an existing local file (or one "
                          f"of {list(CKPT_KEYWORDS)})")


def _class_paths(tree: object, where: str) -> Iterator[tuple[str, object]]:
    """Every ``class_path`` value in the nested config ``tree``, with its dotted key."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            here = f"{where}.{key}" if where else str(key)
            if key == "class_path":
                yield here, value
            else:
                yield from _class_paths(value, here)
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from _class_paths(value, f"{where}[{i}]")


def check_config_tree(tree: object, source: str) -> None:
    """Check a parsed ``--config`` file before jsonargparse sees it: every ``class_path``
    (:func:`check_class_path`), the sections ``model`` / ``data`` / ``trainer`` are
    mappings (jsonargparse would read a string as a file and echo it), and ``ckpt_path``
    (:func:`check_ckpt_path`).

    Raises:
        ConfigError: naming ``source`` and the key.
    """
    if tree is None:
        return
    if not isinstance(tree, dict):
        raise ConfigError(f"{source}: a config must be a mapping of keys, got "
                          f"{type(tree).__name__}")
    for key, value in _class_paths(tree, ""):
        check_class_path(value, f"{source}: {key}")
    for section in _SECTIONS:
        if section in tree and not isinstance(tree[section], (dict, type(None))):
            raise ConfigError(f"{source}: {section} must be a mapping of {section}.* keys, "
                              f"got {short_repr(tree[section])}")
    if "ckpt_path" in tree:
        check_ckpt_path(tree["ckpt_path"], f"{source}: ckpt_path")


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

    def before_instantiate_classes(self) -> None:
        """Check the parsed config before anything is built (see :func:`check_parsed`)."""
        subcommand = self.config.get("subcommand")
        check_parsed(self.config.get(subcommand) if subcommand else self.config)

    def _prepare_subcommand_kwargs(self, subcommand: str) -> dict:
        """LightningCLI's arguments of the subcommand, with ``ckpt_path`` checked once more
        right before Lightning gets it and checkpoints loaded weights-only."""
        kwargs = super()._prepare_subcommand_kwargs(subcommand)
        check_ckpt_path(kwargs.get("ckpt_path"))
        if "weights_only" in kwargs or kwargs.get("ckpt_path") is not None:
            kwargs["weights_only"] = True
        return kwargs

    def instantiate_classes(self) -> None:
        """Build the data module, model and trainer; a bad value in the config (unknown
        dataset or encoder, missing data file, ...) raises :class:`ConfigError`."""
        from lightning.fabric.utilities.exceptions import MisconfigurationException

        try:
            super().instantiate_classes()
        except (SpikecastError, ValueError, TypeError, OSError,
                MisconfigurationException) as err:
            # the data module loads its dataset here (linked channels), the model builds its
            # encoder: errors are about the config's values, not a failure of training
            raise ConfigError(str(err)) from err


def _as_dict(config, name: str) -> dict:
    """The section ``name`` of a parsed config (a jsonargparse Namespace) as a dict."""
    value = config.get(name) if config is not None else None
    if value is None:
        return {}
    return value.as_dict() if hasattr(value, "as_dict") else dict(value)


def _keyed(section: str, err: Exception, names) -> str:
    """``err``'s message with the key's section in front (``model.lr must be ...``)."""
    message = str(err)
    first = message.split(" ", 1)[0]
    return f"{section}.{message}" if first in names else f"{section}: {message}"


def _check_model(model: dict) -> None:
    """The model's settings by the rules of :class:`~spikecast.forecaster.NeuralForecaster`
    (the same network), e.g. ``lr > 0`` and ``neuron_params`` the neuron accepts."""
    from spikecast.forecaster import NeuralForecaster

    accepted = inspect.signature(NeuralForecaster).parameters
    params = {k: v for k, v in model.items() if k in accepted and k != "target"}
    params.setdefault("horizon", 1)
    try:
        NeuralForecaster(**params).validate_params()
    except InvalidParameterError as err:
        raise ConfigError(_keyed("model", err, accepted)) from err


def _check_data(data: dict) -> None:
    """The data module's settings (its declared rules, the held-out sizes, and at most as
    many loader workers as the machine has cores)."""
    from spikecast.data.windows import HELD_OUT_CONSTRAINTS
    from spikecast.devices import available_devices
    from spikecast.validation import Integral, Interval, declared_constraints, validate_params

    cores = available_devices("cpu")
    constraints = {**declared_constraints(WindowDataModule), **HELD_OUT_CONSTRAINTS,
                   "num_workers": [Interval(Integral, 0, cores, closed="both",
                                            desc=f"an integer from 0 to {cores} (the CPU "
                                            "cores of this machine)")]}
    try:
        validate_params(data, constraints)
    except InvalidParameterError as err:
        raise ConfigError(_keyed("data", err, constraints)) from err


def _check_accelerator(accelerator: object) -> None:
    """Refuse a GPU accelerator on a machine without one (Lightning would raise)."""
    name = str(accelerator).lower()
    if name in ("gpu", "cuda") and not torch.cuda.is_available() and not (
            name == "gpu" and torch.backends.mps.is_available()):
        raise ConfigError(f"trainer.accelerator: {short_repr(accelerator)}, but this machine "
                          "has no GPU that torch can use; use cpu or auto")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("trainer.accelerator: 'mps', but this machine has no MPS device; "
                          "use cpu or auto")


def _check_trainer(trainer: dict) -> None:
    """Accelerator, devices and the directories the trainer writes to."""
    from spikecast.experiment.config import check_devices, check_output_dir

    accelerator = trainer.get("accelerator") or "auto"
    if isinstance(accelerator, str):
        _check_accelerator(accelerator)
    check_devices(trainer.get("devices"), accelerator, "trainer.devices")
    if trainer.get("default_root_dir") is not None:
        check_output_dir(trainer["default_root_dir"], "trainer.default_root_dir")
    for i, callback in enumerate(trainer.get("callbacks") or []):
        dirpath = (callback.get("init_args") or {}).get("dirpath") \
            if isinstance(callback, dict) else None
        if isinstance(dirpath, (str, os.PathLike)):
            check_output_dir(dirpath, f"trainer.callbacks[{i}].init_args.dirpath")


def check_parsed(config) -> None:
    """Check a parsed subcommand config (a jsonargparse Namespace) before anything is built:
    ``ckpt_path`` (:func:`check_ckpt_path`; ``weights_only: false`` is refused), the model
    (by :class:`~spikecast.forecaster.NeuralForecaster`'s rules), the data module's settings
    and the trainer's accelerator, devices and output directories.

    Raises:
        ConfigError: the first problem, naming the key.
    """
    if config is None:
        return
    check_ckpt_path(config.get("ckpt_path"))
    if config.get("weights_only") is False:
        raise ConfigError("weights_only: false would unpickle the checkpoint (which can run "
                          "code); spikecast loads checkpoints weights-only")
    _check_model(_as_dict(config, "model"))
    _check_data(_as_dict(config, "data"))
    _check_trainer(_as_dict(config, "trainer"))


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
            parser_kwargs={"exit_on_error": False},  # one error line, not the usage
            output=output,
        )


def _options(argv: list[str]) -> Iterator[tuple[str, str | None]]:
    """``(option, value)`` for every ``--option value`` / ``--option=value`` / ``-c value``
    in ``argv`` (``value`` is ``None`` when none follows)."""
    for i, arg in enumerate(argv):
        if not (arg.startswith("--") or arg == "-c"):
            continue
        if "=" in arg:
            name, value = arg.split("=", 1)
            yield name, value
        else:
            following = argv[i + 1] if i + 1 < len(argv) else None
            yield arg, None if following is None or following.startswith("--") else following


def _check_option(option: str, value: str) -> None:
    """Check one command-line option before jsonargparse sees it."""
    from spikecast.experiment.config import read_yaml

    if option in ("--config", "-c"):
        check_config_tree(read_yaml(value), value)
    elif option == "--ckpt_path":
        check_ckpt_path(value, "--ckpt_path")
    elif option.endswith("class_path"):
        check_class_path(value, option)
    elif option.lstrip("-") in _SECTIONS and not value.lstrip().startswith("{"):
        raise ConfigError(f"{option}: give {option.lstrip('-')}.* options or a mapping "
                          f"({option} '{{...}}'), not {short_repr(value)}")


def _check_config_files(argv: list[str]) -> None:
    """Fail with one line on a missing, invalid or oversized ``--config`` file, a YAML alias,
    a ``class_path`` outside the allowed modules, a section given as a file path or a
    remote ``ckpt_path`` (jsonargparse would print its whole usage first, or import, read or
    download it)."""
    for option, value in _options(argv):
        if value is not None:
            _check_option(option, value)


def _configure_jsonargparse() -> None:
    """Make jsonargparse parse YAML with :mod:`spikecast.safe_yaml`'s limits and import
    only classes under :func:`allowed_modules` (checked before the import)."""
    import yaml
    from jsonargparse import get_loader, set_loader, set_parsing_settings

    from spikecast import safe_yaml

    set_parsing_settings(import_path_denylist=["*"],
                         import_path_allowlist=list(allowed_modules()))
    loader = get_loader("yaml")
    if getattr(loader, "spikecast_bounded", False):
        return

    def bounded(stream):
        safe_yaml.check(stream, "a YAML value")
        return loader(stream)

    bounded.spikecast_bounded = True  # type: ignore[attr-defined]
    set_loader("yaml", bounded, exceptions=(yaml.YAMLError,))


def _one_line(message: str, limit: int = 300) -> str:
    """jsonargparse's (multi-line) message as one line of at most ``limit`` characters."""
    text = "; ".join(line.strip() for line in message.splitlines() if line.strip())
    return text if len(text) <= limit else text[:limit] + " ..."


def run_command(args: list[str] | None, argv: list[str]) -> int:
    """``spikecast fit | validate | test | predict``: check the config files and options in
    ``argv``, then run the Lightning CLI on ``args`` (``None``: it reads ``sys.argv``).

    Raises:
        ConfigError: a bad config file, option or value, as one line.
    """
    from jsonargparse import ArgumentError

    _check_config_files(argv)
    _configure_jsonargparse()
    try:
        run_lightning_cli(args)
    except ArgumentError as err:
        raise ConfigError(_one_line(str(err))) from err
    return 0
