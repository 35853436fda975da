"""`evalcli cache [show|clear]`: the answer store that `--reuse` takes answers from.

    evalcli cache                       its file, size, and entries per model
    evalcli cache clear [--model M]     delete every answer (or one model's: its label or
                                        the start of its key), and any reuse refusal with it
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evalcli.cli.common import JsonFlag, console


def cache(
    action: Annotated[str, typer.Argument(metavar="[show|clear]", help="show (default) or clear.")] = "show",
    model: Annotated[str | None, typer.Option("--model", help="clear: only this model's answers (its label as `cache` lists it, or the start of its key).")] = None,
    store: Annotated[Path | None, typer.Option("--store", metavar="FILE", envvar="EVALCLI_ANSWER_CACHE", help="The answer store (default: answers.sqlite3 in the user's cache folder; or $EVALCLI_ANSWER_CACHE).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show the answer store (size, entries per model), or clear it."""
    import msgspec

    from evalcli.errors import ConfigError, RunError
    from evalcli.run.reuse import default_path
    from evalcli.store.answer_cache import AnswerCache, AnswerCacheError, remove_store

    out = console()
    if action not in ("show", "clear"):
        raise ConfigError(f"cache {action!r}: give show or clear (e.g. evalcli cache clear)")
    if model is not None and action != "clear":
        raise ConfigError("--model: only with clear (evalcli cache clear --model LABEL)")
    if model is not None and not model.strip():
        raise ConfigError("--model '': give a model's label as `evalcli cache` lists it "
                          "(or the start of its key)")
    path = store.expanduser() if store is not None else default_path()
    if action == "show" and not path.exists():
        out.print(f"answer store: {path} (empty: no run has stored an answer)", markup=False)
        return
    try:
        db = AnswerCache(path)
    except AnswerCacheError as exc:
        if action == "clear" and model is None:
            removed = remove_store(path)
            out.print(f"answer store: {path} could not be opened ({exc}); removed "
                      f"{len(removed)} file(s)", markup=False)
            return
        raise RunError(f"{exc} - remove it with: evalcli cache clear") from None
    with db:
        try:
            if action == "clear":
                if model is not None:
                    known = db.models()
                    if not any(m.model == model or m.model_key.startswith(model)
                               for m in known):
                        raise ConfigError(
                            f"--model {model!r}: no such model in {path} — it holds "
                            + (", ".join(sorted({m.model for m in known})) or "no answers")
                            + " (evalcli cache lists them)")
                n = db.clear(model)
                which = f" of {model}" if model else ""
                out.print(f"answer store: {path}: {n} answer(s){which} deleted", markup=False)
                return
            models = db.models()
        except AnswerCacheError as exc:
            raise RunError(f"{exc} - remove it with: evalcli cache clear") from None
    size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    if as_json:
        out.print(msgspec.json.encode({"store": str(path), "bytes": size,
                                       "models": models}).decode(), markup=False)
        return
    total = sum(m.entries for m in models)
    out.print(f"answer store: {path} ({_size(size)}, {total} answer(s), {len(models)} "
              f"model(s))", markup=False)
    for m in models:
        off = f"  reuse off: {m.disabled}" if m.disabled else ""
        out.print(f"  {m.model}  key {m.model_key[:12]}  {m.entries} answer(s)  "
                  f"{_size(m.bytes)}{off}", markup=False)


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
