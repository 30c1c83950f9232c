"""``ispikformer``: inverted spiking transformer, one token per variate (iSpikformer).

The iSpikformer of SeqSNN (Lv et al., "Efficient and Effective Time-Series Forecasting with
Spiking Neural Networks", ICML 2024): Spikformer's spiking self-attention (Zhou et al.,
"Spikformer: When Spiking Neural Network Meets Transformer", ICLR 2023) applied the inverted
way of iTransformer (Liu et al., "iTransformer: Inverted Transformers Are Effective for Time
Series Forecasting", ICLR 2024): every column's whole window is one token, and attention mixes
the ``C`` columns. With ``BN`` a BatchNorm1d over the features (statistics over every spike
step, window and token), ``u`` a unit (:meth:`Encoder.unit`) running over the ``T`` spike
steps with the tokens as items, and ``x_c`` column ``c``'s window (``L`` values)::

    e_c        = BN(W_e x_c + b_e)                                  (H features, analog)
    z[t, c]    = u(e_c)[t]                        t = 1..T (the same current at every step)
    then num_layers blocks on the residual stream z [T, B, C, H]:
    q, k, v    = u(BN(W_q z)), u(BN(W_k z)), u(BN(W_v z))      (split into heads of H/heads)
    a[t]       = u(s · (q[t] k[t]^T) v[t])       per head, over the C tokens (s = qk_scale)
    z         <- z + u(BN(W_o a))                                   (spiking self-attention)
    z         <- z + u(BN(W_2 u(BN(W_1 z))))                        (MLP, W_1: H -> ff_mult·H)
    z         <- dropout(z)
    output     = z over the T spike steps, [T, B, C, H] (the readout takes the last step)

There is no softmax: ``q`` and ``k`` are spikes, so ``q k^T`` counts coincidences and is
non-negative. The residual stream is a sum of spike trains (integers up to
``2·num_layers + 1``), as in Spikformer.

Differences from SeqSNN's code (``SeqSNN/network/snn/ispikformer.py``,
``SeqSNN/module/spike_attention.py``):

- Spike steps: SeqSNN's default ``conv`` encoder turns the window into ``T`` spike trains
  (Conv2d(1 -> T, kernel (1, 3)) over time, BatchNorm, LIF with the ``T`` channels as its
  steps) that the embedding Linear then reads at each step. Here the embedding reads the
  analog window once and its current is presented at every one of the ``T`` steps (the
  ``repeat`` encoding of docs/architectures.md): the embedding unit is the spike encoding, one LIF
  fewer. The BatchNorm is applied before the repeat; its batch statistics are the same as
  over the ``T`` copies.
- Neurons: every LIF is a calibrated unit of any neuron (spiking or analog twin). SeqSNN's
  LIFs detach the reset (spikecast's neurons do not by default; ``neuron_params`` can) and
  the attention LIF has half the threshold of the others (0.5); here the attention unit is
  like every other one: its calibration sets its operating point, and with
  ``init_rate=None`` it keeps the neuron's own threshold.
- Initialisation: PyTorch's defaults instead of N(0, 0.02²) weights and zero biases; a
  BatchNorm follows every Linear, so the forward pass does not depend on the weight scale.
- Dropout after every block (SeqSNN has none); ``input_size`` is the window length (SeqSNN's
  ``max_length``). SeqSNN's ``qkv_bias`` is ignored by its code (the Linears have biases),
  and so are they here.
- All ``T`` steps are returned; SeqSNN returns the last one (here the ``last`` readout).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from spikecast.exceptions import InvalidParameterError
from spikecast.models.architectures.base import (
    POSITIVE_INT,
    Encoder,
    SpikeMatMul,
    Synapse,
    modules_of,
)
from spikecast.models.units import NeuronUnit
from spikecast.validation import Interval, Real, validate_params

__all__ = ["ISpikformer"]

UnitFactory = Callable[[int], NeuronUnit]


class _Projection(nn.Module):
    """``BN(W x + b)``: a Linear, then a BatchNorm1d over its output features (any leading
    dimensions, features last; the statistics run over all of them)."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.norm = nn.BatchNorm1d(out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., in]`` -> ``[..., out]``."""
        y = self.linear(x)
        return self.norm(y.reshape(-1, y.shape[-1])).reshape(y.shape)


class _SelfAttention(nn.Module):
    """Spikformer's spiking self-attention over the tokens (SeqSNN's ``SSA``)."""

    def __init__(self, dim: int, heads: int, qk_scale: float, unit: UnitFactory):
        super().__init__()
        self.heads = heads
        self.qk_scale = qk_scale
        self.q, self.k, self.v = (_Projection(dim, dim) for _ in range(3))
        self.q_unit, self.k_unit, self.v_unit = (unit(dim) for _ in range(3))
        self.scores = SpikeMatMul()  # q @ k^T
        self.mix = SpikeMatMul()  # (s · q k^T) @ v
        self.attn_unit = unit(dim)
        self.out = _Projection(dim, dim)
        self.out_unit = unit(dim)

    def _split(self, s: torch.Tensor) -> torch.Tensor:
        """``[T, B, C, H]`` -> ``[T, B, heads, C, H / heads]``."""
        steps, batch, tokens, dim = s.shape
        return s.reshape(steps, batch, tokens, self.heads, dim // self.heads).transpose(2, 3)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``[T, B, C, H]`` -> ``[T, B, C, H]`` (the spikes added to the residual stream)."""
        q = self._split(self.q_unit(self.q(z)))
        k = self._split(self.k_unit(self.k(z)))
        v = self._split(self.v_unit(self.v(z)))
        scores = self.scores(q, k.transpose(-2, -1)) * self.qk_scale  # [T, B, h, C, C]
        mixed = self.mix(scores, v).transpose(2, 3).reshape(z.shape)  # heads concatenated
        return self.out_unit(self.out(self.attn_unit(mixed)))


class _MLP(nn.Module):
    """``u(BN(W_2 u(BN(W_1 z))))`` (SeqSNN's ``MLP``)."""

    def __init__(self, dim: int, hidden: int, unit: UnitFactory):
        super().__init__()
        self.fc1 = _Projection(dim, hidden)
        self.hidden_unit = unit(hidden)
        self.fc2 = _Projection(hidden, dim)
        self.out_unit = unit(dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``[T, B, C, H]`` -> ``[T, B, C, H]``."""
        return self.out_unit(self.fc2(self.hidden_unit(self.fc1(z))))


class _Block(nn.Module):
    """``z + SSA(z)``, then ``+ MLP(.)`` (SeqSNN's ``Block``)."""

    def __init__(self, dim: int, heads: int, hidden: int, qk_scale: float,
                 unit: UnitFactory):
        super().__init__()
        self.attention = _SelfAttention(dim, heads, qk_scale, unit)
        self.mlp = _MLP(dim, hidden, unit)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``[T, B, C, H]`` -> ``[T, B, C, H]``."""
        z = z + self.attention(z)
        return z + self.mlp(z)


class ISpikformer(Encoder):
    """Inverted spiking transformer over the variates (see the module docstring).

    Args:
        input_size: the window length ``L`` (each column's window is one token's input).
        hidden_size: token width ``H`` (a multiple of ``heads``).
        num_layers: transformer blocks.
        spike_steps: spike steps ``T`` over which the embedding's current is presented.
        heads: attention heads.
        ff_mult: the MLP's hidden width is ``ff_mult x hidden_size``.
        qk_scale: the scale ``s`` of the attention scores ``q k^T`` (a positive number).
        (the rest: see :class:`~spikecast.models.architectures.base.Encoder`)
    """

    tokens = "variates"

    # its own options; that ``heads`` divides ``hidden_size`` is checked in ``__init__``
    _parameter_constraints = {
        "spike_steps": [POSITIVE_INT],
        "heads": [POSITIVE_INT],
        "ff_mult": [POSITIVE_INT],
        "qk_scale": [Interval(Real, 0, None, closed="neither",
                              desc="a positive finite number")],
    }

    def __init__(self, input_size: int, hidden_size: int = 128, num_layers: int = 1,
                 neuron: str | None = None, neuron_params: dict | None = None,
                 dropout: float = 0.0, init_rate: float | None = 0.15,
                 spike_steps: int = 4, heads: int = 8, ff_mult: int = 4,
                 qk_scale: float = 0.125):
        super().__init__(input_size, hidden_size, num_layers, neuron, neuron_params, dropout,
                         init_rate)
        constraints = ISpikformer._parameter_constraints
        validate_params({"spike_steps": spike_steps, "heads": heads, "ff_mult": ff_mult},
                        constraints)
        if hidden_size % heads:
            raise InvalidParameterError(
                f"hidden_size must be a multiple of heads: hidden_size={hidden_size} is not "
                f"divisible by heads={heads}")
        validate_params({"qk_scale": qk_scale}, constraints)
        self.spike_steps = spike_steps
        self.heads = heads
        self.ff_mult = ff_mult
        self.qk_scale = float(qk_scale)
        self.embedding = _Projection(input_size, hidden_size)
        self.embedding_unit = self.unit(hidden_size)
        self.blocks = nn.ModuleList(
            _Block(hidden_size, heads, ff_mult * hidden_size, self.qk_scale, self.unit)
            for _ in range(num_layers))
        self.drop = self.layer_dropout()

    def output_steps(self, lookback: int) -> int:
        """``spike_steps``: the output steps are spike steps, not time points."""
        return self.spike_steps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, L, C]`` -> ``[spike_steps, B, C, hidden]`` (one token per column)."""
        if x.dim() != 3 or x.shape[1] != self.input_size:
            raise ValueError(f"{type(self).__name__} expects whole windows [B, L, C] with "
                             f"L = input_size = {self.input_size}, got shape {tuple(x.shape)}")
        current = self.embedding(x.transpose(1, 2))  # [B, C, H]: computed once
        # the same current at every spike step (the "repeat" encoding)
        z = self.embedding_unit(current.expand(self.spike_steps, *current.shape))
        for block in self.blocks:
            z = self.drop(block(z))
        return z

    def synapses(self) -> list[Synapse]:
        """The embedding (analog input), then every block's layers with what feeds them.

        The residual stream is the sum of the embedding unit's and every earlier
        attention-out and MLP-out unit's outputs, so the layers reading it list all of those
        units (``W (s_1 + s_2) = W s_1 + W s_2``: each train's events drive their own
        accumulates).

        Attention products: ``q k^T`` has two spike operands, ``(s · q k^T) v`` one analog
        (the integer scores) and one spike operand. Each is listed with one operand's unit,
        the one whose events drive the accumulates: a spike of ``q`` adds the matching ``k``
        column into one row of scores (``C`` accumulates), a spike of ``v`` adds one column
        of scores into the output (``C`` accumulates). Counting ``q``'s events is an upper
        bound for the product of two spike trains (only coincidences contribute); the scale
        ``s`` is a constant that folds into the next unit's calibration.
        """
        found = [Synapse(self.embedding.linear)]  # analog windows: repeats do not matter
        stream: tuple[NeuronUnit, ...] = (self.embedding_unit,)
        for block in modules_of(self.blocks, _Block):
            attention, mlp = block.attention, block.mlp
            found += [Synapse(attention.q.linear, stream), Synapse(attention.k.linear, stream),
                      Synapse(attention.v.linear, stream),
                      # convention: one operand's events drive the accumulates (see above)
                      Synapse(attention.scores, (attention.q_unit,)),
                      Synapse(attention.mix, (attention.v_unit,)),
                      Synapse(attention.out.linear, (attention.attn_unit,))]
            stream = stream + (attention.out_unit,)
            found += [Synapse(mlp.fc1.linear, stream),
                      Synapse(mlp.fc2.linear, (mlp.hidden_unit,))]
            stream = stream + (mlp.out_unit,)
        return found

    def output_sources(self) -> tuple[NeuronUnit, ...]:
        """Every unit summed into the final residual stream: the embedding unit, then each
        block's attention-out and MLP-out units."""
        found: tuple[NeuronUnit, ...] = (self.embedding_unit,)
        for block in modules_of(self.blocks, _Block):
            found += (block.attention.out_unit, block.mlp.out_unit)
        return found
