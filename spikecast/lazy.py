"""Names of a package that load their module on first use.

A package whose public names live in heavy modules (torch, Lightning, statsmodels) exports
them lazily, so that importing the package (and ``spikecast --help``) stays fast::

    __getattr__, __dir__ = lazy_exports(__name__, {"ForecastModule": "spikecast.models.module"})

A name whose module path ends in ``.<name>`` is that (sub)module itself.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of ``package`` that resolve
    ``exports`` (public name -> the module that defines it) on first access."""

    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(exports[name])
        return module if exports[name].endswith(f".{name}") else getattr(module, name)

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
