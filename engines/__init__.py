"""Engine registry: name -> "module:Class", imported lazily.

Adding an engine is one module in this package and one line in REGISTRY. Importing this
package is cheap: no engine module (and so no llama_cpp, no httpx) is imported until
`engine_class(name)` is called.
"""

from __future__ import annotations

import importlib
import sys

from engines.base import Engine

REGISTRY: dict[str, str] = {
    "llama_cpp": "engines.llama_cpp:LlamaCppEngine",
    "mock": "engines.mock:MockEngine",
    "ollama": "engines.ollama:OllamaEngine",
    "openai": "engines.openai:OpenAIEngine",
    "fireworks_batch": "engines.fireworks_batch:FireworksBatchEngine",
    "openai_batch": "engines.openai_batch:OpenAIBatchEngine",
}


def engine_names() -> list[str]:
    return sorted(REGISTRY)


def engine_class(name: str) -> type[Engine]:
    """The Engine subclass registered under `name`; KeyError for an unknown name."""
    module_name, _, class_name = REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def is_batch_engine(cls: type[Engine]) -> bool:
    """Whether `cls` is a remote batch engine (engines/batch.py), without importing that module
    (and httpx) for the others: a subclass of BatchEngine exists only once its module is."""
    batch = sys.modules.get("engines.batch")
    return batch is not None and issubclass(cls, batch.BatchEngine)
