"""``spikecast tune --config FILE``: tune every model of a YAML configuration with the same
trial budget (:func:`spikecast.tuning.tune_many`) and write each best configuration.

The configuration names the data and the models as a backtest configuration does
(:mod:`spikecast.experiment.config`), and the search in a ``tune`` section::

    dataset: {name: co2, tail: 520}
    tune:
      horizon: 13
      n_trials: 20           # per model (one for a model with nothing to tune)
      val_size: 0.2          # validation rows at the end of the tuning data
      test_size: 0.2         # rows at the end kept out of the search (the test part)
      stride: 1              # rows between validation forecasts of non-neural models
      storage: outputs/tune/co2.db   # SQLite file or database URL (shared by workers)
      study_prefix: co2-     # study names: <prefix><model label>
      seed: null             # the sampler's seed (workers sharing a study: different)
      prune: true
    models:
      - {model: ets}
      - {name: ts_lif, model: neural, params: {encoder: stack, neuron: ts_lif, lookback: 52}}
    output_dir: outputs/tune/co2

It writes ``<label>.yaml`` per model (a Lightning CLI config for neural models, a backtest
config for the others) and ``summary.csv`` into ``output_dir``. Run the same command on
several machines with one database URL as ``storage`` to share the trials; run it again to
resume a stopped search.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_parser", "run", "load_tune_config", "tune_locations"]

#: the keys of the ``tune`` section and whether they are required
_TUNE = {"horizon": True, "n_trials": False, "val_size": False, "test_size": False,
         "stride": False, "storage": False, "study_prefix": False, "seed": False,
         "prune": False}
_TOP = {"dataset": True, "tune": True, "models": True, "output_dir": False}


def add_parser(subparsers) -> None:
    """Register the ``tune`` command and its options."""
    tune = subparsers.add_parser(
        "tune", help="tune the models of a YAML configuration (Optuna)",
        description="Tune every model of a YAML configuration with the same number of "
        "trials, on validation data only; write each best configuration as a config file.")
    tune.add_argument("--config", required=True, metavar="FILE", help="the YAML file")
    tune.add_argument("--n-trials", type=int, metavar="N", default=None,
                      help="trials per model (default: the config's tune.n_trials, else 20)")
    tune.add_argument("--storage", metavar="URL", default=None,
                      help="SQLite file or database URL (default: the config's "
                      "tune.storage, else <output dir>/studies.db)")
    tune.add_argument("--output-dir", metavar="DIR", default=None,
                      help="where the configs go (default: the config's output_dir, else "
                      "outputs/tune/<config name>)")
    tune.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                      help="a progress bar per model (default: on a terminal)")
    tune.add_argument("--seed", type=int, metavar="N", default=None,
                      help="the sampler's seed (default: the config's tune.seed); give "
                      "each worker sharing a study its own, or they propose the same "
                      "first trials")
    tune.add_argument("--threads", type=int, metavar="N", default=1,
                      help="torch threads per fit (default: %(default)s)")


def _checked_tune(section, source: str) -> dict:
    """The ``tune`` section with its defaults, or a :class:`ConfigError` naming the key."""
    from spikecast.data.windows import HELD_OUT_CONSTRAINTS
    from spikecast.exceptions import ConfigError, InvalidParameterError
    from spikecast.validation import Integral, Interval, validate_params

    settings = {"n_trials": 20, "val_size": 0.2, "test_size": 0.0, "stride": 1,
                "storage": None, "study_prefix": None, "seed": None, "prune": True,
                **_section(section, _TUNE, f"{source}: tune")}
    positive = [Interval(Integral, 1, None, closed="left")]
    constraints = {"horizon": positive, "n_trials": positive, "stride": positive,
                   "val_size": HELD_OUT_CONSTRAINTS["val_size"],
                   "test_size": HELD_OUT_CONSTRAINTS["test_size"], "storage": [str, None],
                   "study_prefix": [str, None], "prune": ["boolean"],
                   "seed": [Interval(Integral, 0, None, closed="left"), None]}
    try:
        validate_params(settings, constraints, where=f"{source}: tune")
    except InvalidParameterError as err:
        raise ConfigError(str(err)) from err
    return settings


def _section(value, keys: dict[str, bool], where: str) -> dict:
    from spikecast.exceptions import ConfigError

    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping with keys {list(keys)}")
    unknown = [k for k in value if k not in keys]
    missing = [k for k, required in keys.items() if required and k not in value]
    if unknown or missing:
        raise ConfigError(f"{where}: unknown key(s) {unknown}" if unknown
                          else f"{where}: missing required key(s) {missing}")
    return value


def load_tune_config(path: str):
    """``(settings, spec)``: the checked ``tune`` section and a
    :class:`~spikecast.experiment.config.BacktestSpec` holding the data and models (its
    backtest settings unused).

    Raises:
        ConfigError: a missing or invalid file or key (the message names it).
    """
    from spikecast.experiment.config import read_yaml, spec_from_dict

    config = read_yaml(path)
    config = _section(config, _TOP, str(path))
    settings = _checked_tune(config["tune"], str(path))
    spec = spec_from_dict({"dataset": config["dataset"], "models": config["models"],
                           "backtest": {"horizon": settings["horizon"], "start": 0.5},
                           "output_dir": config.get("output_dir"),
                           "seed": settings["seed"] or 0}, source=str(path))
    return settings, spec


def _split(frame, test_size):
    """``(tuning rows, number of test rows)``: the last ``test_size`` rows of every series
    are kept out."""
    import pandas as pd

    from spikecast.data.windows import held_out_rows

    if list(frame.columns) != ["unique_id", "ds", "y"]:
        n_test = held_out_rows(test_size, len(frame), "test_size")
        return frame.iloc[:len(frame) - n_test], n_test
    parts, n_test = [], 0
    for _, group in frame.groupby("unique_id", sort=False):
        n_test = held_out_rows(test_size, len(group), "test_size")
        parts.append(group.iloc[:len(group) - n_test])
    return pd.concat(parts, ignore_index=True), n_test


def _data_reference(spec, frame):
    """How the written configs name the data: the dataset or file as it is, or (with
    ``head``, ``tail`` or ``columns``) the loaded rows, written beside each config."""
    if spec.head or spec.tail or spec.columns:
        return frame
    ref = {"data": spec.path or spec.dataset}
    if spec.path:
        ref.update({k: getattr(spec, k) for k in ("time_col", "id_col", "freq")
                    if getattr(spec, k)})
    if spec.target:
        ref["target"] = spec.target
    return ref


def tune_locations(config, settings: dict, spec, output_dir=None, storage=None
                   ) -> tuple[Path, str]:
    """``(output dir, storage)`` of a tune run: the ones given, else the configuration's,
    else ``outputs/tune/<config name>`` and ``<output dir>/studies.db``.

    Args:
        config: the configuration file's path.
        settings, spec: :func:`load_tune_config`'s result for it.
        output_dir, storage: the command line's ``--output-dir`` and ``--storage``.
    """
    folder = Path(output_dir or spec.output_dir or Path("outputs") / "tune" / Path(config).stem)
    return folder, storage or settings["storage"] or str(folder / "studies.db")


def _write_summary(results, output_dir: Path) -> Path:
    import pandas as pd

    from spikecast.atomic import atomic_path

    table = pd.DataFrame([{"model": label, "n_trials": r.n_trials,
                           "best_val_loss": r.best_value, "study": r.study.study_name,
                           "config": str(r.config_path)} for label, r in results.items()])
    path = output_dir / "summary.csv"
    with atomic_path(path, suffix=".csv") as tmp:
        table.to_csv(tmp, index=False)
    print(table.to_string(index=False))
    return path


def run(args) -> int:
    """Check the configuration, tune every model, print and write the best of each."""
    settings, spec = load_tune_config(args.config)
    if args.seed is not None:
        settings["seed"] = _checked_tune({**settings, "seed": args.seed}, "--seed")["seed"]
    import torch

    from spikecast.tuning import tune_many

    torch.set_num_threads(max(1, int(args.threads)))
    output_dir, storage = tune_locations(args.config, settings, spec, args.output_dir,
                                         args.storage)
    frame = spec.load_data()
    y, n_test = _split(frame, settings["test_size"])
    models = spec.build_models(frame)
    n_trials = args.n_trials or settings["n_trials"]
    print(f"spikecast tune: {len(models)} model(s) x {n_trials} trials on {spec.dataset!r} "
          f"({', '.join(models)}), studies in {storage}", flush=True)
    results = tune_many(models, y, n_trials=n_trials, storage=storage,
                        output_dir=output_dir, study_prefix=settings["study_prefix"],
                        val_size=settings["val_size"], stride=settings["stride"],
                        seed=settings["seed"], prune=settings["prune"],
                        progress=args.progress, data=_data_reference(spec, frame),
                        test_rows=n_test)
    print(f"\nwrote {_write_summary(results, output_dir)} and one config per model")
    return 0
