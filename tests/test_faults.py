"""Faults: a training run killed mid-way resumes from its last checkpoint and ends where an
uninterrupted run ends; NaN losses stop training with a clear error."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from spikecast import NeuralForecaster

SCRIPT = textwrap.dedent("""
    import os, signal, sys
    import numpy as np, pandas as pd, torch
    from lightning.pytorch.callbacks import Callback
    from spikecast import NeuralForecaster

    torch.set_num_threads(1)
    data_path, ckpt_dir, kill_at, resume = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

    class KillAt(Callback):
        # SIGKILL, not an exception: nothing gets a chance to clean up
        def on_train_batch_end(self, trainer, *args):
            if trainer.global_step == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

    y = pd.read_pickle(data_path)
    model = NeuralForecaster(encoder="{encoder}", lookback=24, horizon=6, hidden_size=8,
                             max_epochs=4, batch_size=32, early_stopping_patience=None,
                             checkpoint_dir=ckpt_dir, verbose=False,
                             trainer_kwargs={{"callbacks": [KillAt()]}})
    model.fit(y, ckpt_path="last" if resume == "1" else None)
    np.save(os.path.join(ckpt_dir, "forecast.npy"), model.predict().to_numpy())
""")


def _run(tmp_path, encoder, ckpt_dir, kill_at, resume):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT.format(encoder=encoder))
    return subprocess.run(
        [sys.executable, str(script), str(tmp_path / "y.pkl"), str(ckpt_dir), str(kill_at),
         resume], capture_output=True, text=True, timeout=300,
    )


@pytest.mark.parametrize("encoder", ["ts_lif", "gru"])
def test_sigkilled_run_resumes_to_the_same_result(tmp_path, etth1_small, encoder):
    etth1_small[["OT", "HUFL"]].to_pickle(tmp_path / "y.pkl")
    steps_per_epoch = -(-(round(400 * 0.8) - 30 + 1) // 32)  # ceil(train windows / batch)

    full = _run(tmp_path, encoder, tmp_path / "full", kill_at=-1, resume="0")
    assert full.returncode == 0, full.stderr[-2000:]

    # killed in the middle of the third epoch: last.ckpt holds the end of the second
    killed = _run(tmp_path, encoder, tmp_path / "killed", kill_at=2 * steps_per_epoch + 3,
                  resume="0")
    assert killed.returncode == -signal.SIGKILL
    assert not (tmp_path / "killed" / "forecast.npy").exists()
    assert (tmp_path / "killed" / "last.ckpt").exists()

    resumed = _run(tmp_path, encoder, tmp_path / "killed", kill_at=-1, resume="1")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    np.testing.assert_array_equal(np.load(tmp_path / "killed" / "forecast.npy"),
                                  np.load(tmp_path / "full" / "forecast.npy"))


def test_resume_without_checkpoint_dir_is_a_clear_error(etth1_small):
    with pytest.raises(ValueError, match="checkpoint_dir"):
        NeuralForecaster(encoder="gru", lookback=24, horizon=6, max_epochs=1,
                         verbose=False).fit(etth1_small, ckpt_path="last")


def test_nan_loss_stops_training_with_epoch_and_step(etth1_small):
    model = NeuralForecaster(encoder="gru", lookback=24, horizon=6, hidden_size=8,
                             max_epochs=2, lr=1e30, optimizer="sgd", instance_norm=False,
                             verbose=False)
    with pytest.raises(FloatingPointError, match=r"epoch \d+, step \d+"):
        model.fit(etth1_small * 1e20)
    assert not hasattr(model, "module_")
