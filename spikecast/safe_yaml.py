"""Bounded YAML: the one way spikecast reads YAML (configs, dataset cards, the Lightning CLI).

``yaml.safe_load`` constructs no Python objects, but it still expands aliases: a 600-byte
file with nested anchors (an "alias bomb", ``&a [*b, *b, ...]``) expands to gigabytes and
holds the machine for minutes. The loader here is ``yaml.SafeLoader`` with limits:

- **no aliases** (``*name``, including merge keys ``<<: *name``): a config spells every value
  out, so nothing ever expands; anchors alone (``&name``) are harmless and allowed;
- at most :data:`MAX_NODES` nodes and :data:`MAX_DEPTH` levels of nesting (a deeply nested
  ``[[[[...`` would otherwise end in a ``RecursionError``);
- files of at most :data:`MAX_BYTES` bytes (:func:`load_file` reads no more than that).

A limit hit raises a ``yaml.YAMLError`` (a ``yaml.composer.ComposerError`` with the line and
column where the document breaks it), so callers that already report invalid YAML as their
own error (``ConfigError``, ``CardError``) report these the same way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError

__all__ = ["MAX_BYTES", "MAX_NODES", "MAX_DEPTH", "BoundedSafeLoader", "load", "load_file",
           "check", "read_limited", "short_repr"]

#: the largest YAML file spikecast reads (configs and cards are a few KB)
MAX_BYTES = 1 << 20
#: the most nodes (scalars, lists, mappings) one document may have
MAX_NODES = 100_000
#: the deepest nesting of lists and mappings
MAX_DEPTH = 64
#: the longest repr of a value that an error message quotes
MAX_REPR = 200


class BoundedSafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses aliases and documents over :data:`MAX_NODES` nodes
    or :data:`MAX_DEPTH` levels deep (see the module docstring)."""

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self._nodes = 0
        self._depth = 0

    def compose_node(self, parent, index):
        """Compose one node, refusing an alias or a node past the limits."""
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise ComposerError(None, None, f"found an alias (*{event.anchor}); spikecast "
                                "does not expand YAML aliases or merge keys: write the "
                                "value out", event.start_mark)
        self._nodes += 1
        if self._nodes > MAX_NODES or self._depth >= MAX_DEPTH:
            what = (f"more than {MAX_NODES} nodes" if self._nodes > MAX_NODES
                    else f"more than {MAX_DEPTH} levels of nesting")
            raise ComposerError(None, None, f"the document has {what}, over spikecast's "
                                "limit for a YAML file", self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _check_length(text: str | bytes, source: str) -> None:
    if len(text) > MAX_BYTES:
        raise yaml.YAMLError(f"{source} is {len(text):,} bytes long, over spikecast's limit "
                             f"of {MAX_BYTES:,} bytes for a YAML document")


def load(text: str | bytes, source: str = "<yaml>") -> Any:
    """The YAML document ``text``, loaded safely and within the limits.

    Raises:
        yaml.YAMLError: invalid YAML, an alias, or a document over the limits.
    """
    _check_length(text, source)
    return yaml.load(text, Loader=BoundedSafeLoader)  # noqa: S506 - a SafeLoader subclass


def check(text: str | bytes, source: str = "<yaml>") -> None:
    """Check that ``text`` is within the limits without constructing it (what
    :func:`load` refuses, this refuses; plain invalid YAML passes, for the caller's own
    loader to report).

    Raises:
        yaml.YAMLError: an alias, or a document over the limits.
    """
    _check_length(text, source)
    try:
        for _ in yaml.compose_all(text, Loader=BoundedSafeLoader):
            pass
    except ComposerError as err:
        if "spikecast" in str(err):
            raise
    except yaml.YAMLError:
        pass


def read_limited(path: str | os.PathLike) -> str:
    """The text (UTF-8) of the file at ``path``, reading at most :data:`MAX_BYTES` + 1 bytes.

    Raises:
        OSError: the file cannot be read (``FileNotFoundError`` when it is missing).
        yaml.YAMLError: the file is over :data:`MAX_BYTES`.
    """
    with open(path, "rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    _check_length(data, str(path))
    return data.decode("utf-8")


def load_file(path: str | os.PathLike) -> Any:
    """The YAML document in the file at ``path`` (see :func:`load`).

    Raises:
        OSError: the file cannot be read (``FileNotFoundError`` when it is missing).
        UnicodeDecodeError: the file is not UTF-8.
        yaml.YAMLError: invalid YAML, an alias, or a file over the limits.
    """
    return load(read_limited(Path(path)), source=str(path))


def short_repr(value: Any, limit: int = MAX_REPR) -> str:
    """``repr(value)``, cut to ``limit`` characters (with the full length) so that an error
    message quoting a huge value stays one readable line."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"
