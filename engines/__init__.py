"""Engine registry: name -> "module:Class", imported lazily.

Adding an engine is one module in this package and one line in REGISTRY. Importing this
package is cheap: no engine module (and so no llama_cpp, no httpx) is imported until
`engine_class(name)` is called.
"""

from __future__ import annotations

import importlib

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
