"""The optional fast counting backend: bpe-openai's Rust BPE, loaded without its package.

``import bpe_openai`` eagerly parses every vocabulary it ships into Python dicts (~0.5 s and
tens of MB), so we load only its compiled ``_bindings`` extension, registering it under its
real name so that a later ``import bpe_openai`` by the application reuses the same module
(PyO3 extensions must not be initialised twice). Counts are proven identical to tiktoken by
the differential tests in ``tests/counting/test_text.py``.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

__all__ = ["FAST_ENCODINGS", "fast_counter"]

_MODULE = "bpe_openai._bindings"

#: tokman encoding -> bpe-openai encoding with the same ranks and pre-tokenizer.
FAST_ENCODINGS = {
    "o200k_base": "o200k_base",
    "cl100k_base": "cl100k_base",
    "o200k_harmony": "o200k_base",
}

_lock = threading.Lock()


def _load_bindings() -> ModuleType | None:
    loaded = sys.modules.get(_MODULE)
    if loaded is not None:
        return loaded
    try:
        spec = importlib.util.find_spec("bpe_openai")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = package_dir / f"_bindings{suffix}"
        if path.is_file():
            loader = importlib.machinery.ExtensionFileLoader(_MODULE, str(path))
            ext_spec = importlib.util.spec_from_file_location(_MODULE, path, loader=loader)
            if ext_spec is None:
                return None
            module = importlib.util.module_from_spec(ext_spec)
            loader.exec_module(module)
            sys.modules[_MODULE] = module
            return module
    return None


def fast_counter(encoding: str) -> Callable[[str], int] | None:
    """A ``count(text) -> int`` from the Rust backend, or ``None`` when it is unavailable."""
    backend_name = FAST_ENCODINGS.get(encoding)
    if backend_name is None:
        return None
    with _lock:
        try:
            bindings = _load_bindings()
        except ImportError:
            return None
    if bindings is None:
        return None
    counter: Callable[[str], int] = bindings.tokenizer_for_encoding(backend_name).count
    return counter
