"""The one standard scaler of spikecast: scikit-learn's, plus column-subset transforms.

Windows are standardised per column with statistics of the training rows only; forecasts of
the target columns are unscaled with *their* statistics, which scikit-learn's
``inverse_transform`` (all columns, 2-D input) cannot do. :class:`StandardScaler` is
scikit-learn's ``StandardScaler`` (population standard deviation; a constant column keeps
scale 1) with :meth:`~StandardScaler.transform_columns` and
:meth:`~StandardScaler.inverse_transform_columns` for arrays ``[..., C]`` and a subset of
the columns.
"""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import StandardScaler as _SklearnStandardScaler

__all__ = ["StandardScaler"]


class StandardScaler(_SklearnStandardScaler):
    """scikit-learn's ``StandardScaler`` with transforms of arrays ``[..., C]`` and of a
    subset of the fitted columns (``mean_``, ``scale_`` as in scikit-learn)."""

    @classmethod
    def from_statistics(cls, mean, scale) -> StandardScaler:
        """A fitted scaler with the given per-column ``mean`` and ``scale`` (e.g. read
        back from a model file)."""
        scaler = cls()
        scaler.mean_ = np.asarray(mean, dtype=np.float64)
        scaler.scale_ = np.asarray(scale, dtype=np.float64)
        scaler.var_ = scaler.scale_ ** 2
        scaler.n_features_in_ = len(scaler.mean_)
        scaler.n_samples_seen_ = 0
        return scaler

    @classmethod
    def identity(cls, n_columns: int) -> StandardScaler:
        """A fitted scaler that leaves ``n_columns`` columns unchanged."""
        return cls.from_statistics(np.zeros(n_columns), np.ones(n_columns))

    def transform_columns(self, values: np.ndarray, columns=slice(None)) -> np.ndarray:
        """Scale ``values`` ``[..., c]`` with the statistics of ``columns`` (default all)."""
        return (values - self.mean_[columns]) / self.scale_[columns]

    def inverse_transform_columns(self, values: np.ndarray, columns=slice(None)) -> np.ndarray:
        """Undo :meth:`transform_columns`."""
        return values * self.scale_[columns] + self.mean_[columns]
