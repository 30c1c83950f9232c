"""``spike_rnn``: SeqSNN's SpikeRNN, neurons that integrate over spike steps at each time point.

Lv et al., "Efficient and Effective Time-Series Forecasting with Spiking Neural Networks"
(ICML 2024), code microsoft/SeqSNN (``SpikeRNN``). Every time point is presented K times
(``spike_steps``) and the neurons integrate over those K steps only: the membrane starts from
zero at every time point, so the time axis is handled like a batch axis and the temporal
context comes from the encoding (``conv`` by default, as in SeqSNN)::

    e[t]          = encoding(x)[t]
    I_1[t, k]     = W_1 e[t] + b_1                    (k = 1..K, the same current K times)
    s_l[t, 1..K]  = neuron_l(I_l[t, 1..K])            (state reset at every t)
    I_{l+1}[t, k] = W_{l+1} s_l[t, k] + b_{l+1}
    output        = s_num_layers over the L x K steps, time point major

SeqSNN reads the mean over K and then over L; here the readout is a separate choice
(``readout="mean"`` is SeqSNN's).
"""

from __future__ import annotations

import torch

from spikecast.models.architectures.stack import Stack

__all__ = ["SpikeRNN"]


class SpikeRNN(Stack):
    """``num_layers`` x [Linear -> neuron over K spike steps] at every time point.

    The layers, their cost hook and their output length are the :class:`Stack`'s; only the
    neurons' memory differs (reset at every time point) and the defaults (SeqSNN's).

    Args:
        encoding: ``"direct"``, ``"conv"`` (default, as SeqSNN) or ``"delta"``.
        spike_steps: ``K``, the neuron steps per time point (SeqSNN: 4).
        (the rest: see :class:`~spikecast.models.architectures.base.Encoder`)
    """

    def __init__(self, input_size: int, hidden_size: int = 128, num_layers: int = 1,
                 neuron: str | None = None, neuron_params: dict | None = None,
                 dropout: float = 0.0, init_rate: float | None = 0.15,
                 encoding: str = "conv", spike_steps: int = 4):
        super().__init__(input_size, hidden_size, num_layers, neuron, neuron_params, dropout,
                         init_rate, encoding, spike_steps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, L, D]`` -> ``[L x spike_steps, N, hidden]`` (time point major)."""
        n, length, _ = x.shape
        k = self.spike_steps
        seq = self.encoding(x.transpose(0, 1))  # [L, N, E]
        # [L, N, E] -> the first current once, presented K times: [K, L*N, H]
        current = self.synapse_layers[0](seq).reshape(1, length * n, -1).expand(k, -1, -1)
        out = self.drop(self.units[0](current))
        for synapse, unit in zip(self.synapse_layers[1:], self.units[1:]):
            out = self.drop(unit(synapse(out)))
        # [K, L*N, H] -> [L, K, N, H] -> [L*K, N, H]
        return out.reshape(k, length, n, -1).transpose(0, 1).reshape(length * k, n, -1)
