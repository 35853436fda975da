"""Profile errors: msgspec's ValidationError turned into "key = value — fix".

    ValidationError "Expected `float` < 1.0 - at `$.stats.confidence`"
        │  the path, walked through the raw TOML (the value) and the type (msgspec.inspect)
        ▼
    "stats.confidence = 2.0 — give a number > 0 and < 1 (see docs/profiles.md)"

The fix is said from the type: a number's bounds, a Literal's words, a URL's missing scheme,
a list's length. Used for profiles, engine options and prompt sets.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

_PATH_RE = re.compile(r" - at `\$(.*)`$")
_KEY_RE = re.compile(r"^(Invalid enum value '(.*)') - at `key` in `\$(.*)`$")
_STEP_RE = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")


def describe_validation_error(exc: msgspec.ValidationError, prefix: str = "", *,
                              root: Any = None, raw: Any = None,
                              flags: dict[str, str] | None = None) -> str:
    """Turn msgspec's message into "key = value — fix", from the key's type (its range, its
    allowed words) and the value found at the key in `raw` (the undecoded TOML)."""
    message = str(exc)
    bad_key = _KEY_RE.match(message)
    if bad_key:  # a table whose keys are a fixed set of words, e.g. [gate] non_inferior
        table = (prefix + bad_key.group(3)).lstrip(".")
        words = _key_words(root, bad_key.group(3))
        return (f"{table}: {bad_key.group(2)!r} is not allowed as a key"
                + (f" — use one of: {', '.join(words)}" if words else "")
                + " (see docs/profiles.md)")
    match = _PATH_RE.search(message)
    where = match.group(1) if match else ""
    problem = message[: match.start()] if match else message
    key = (prefix + where).lstrip(".") or "(top level)"
    unknown = re.match(r"Object contains unknown field `(.+)`", problem)
    if unknown:
        full = f"{key}.{unknown.group(1)}" if key != "(top level)" else unknown.group(1)
        return f"unknown key {full} — remove it or fix its spelling (see docs/profiles.md)"
    missing = re.match(r"Object missing required field `(.+)`", problem)
    if missing:
        full = f"{key}.{missing.group(1)}" if key != "(top level)" else missing.group(1)
        return f"missing required key {full} — add it (see docs/profiles.md)"
    steps = [(m.group(1), m.group(2)) for m in _STEP_RE.finditer(where)]
    found, value, info = _walk(steps, raw, root)
    flags = flags or {}
    key = key.replace("[...]", "")
    if not found:
        return f"key {key}: {problem} (see docs/profiles.md)"
    fix = _fix(info, value) or problem
    if "[...]" in where and fix != problem:
        fix += " for each key"
    flag = flags.get(key)
    shown = _show(value)
    head = f"{flag} {shown}" if flag else f"{key} = {shown}"
    return f"{head} — {fix} (see docs/profiles.md)"


def _key_words(root: Any, where: str) -> list[str]:
    """The allowed keys of the dict at `where` in the type `root`, when they are Literals."""
    import msgspec.inspect as mi

    info = mi.type_info(root) if root is not None else None
    for name in (m.group(1) for m in _STEP_RE.finditer(where)):
        info = _branch(info, "name")
        info = next((f.type for f in info.fields if f.encode_name == name), None) \
            if isinstance(info, mi.StructType) else None
    info = _branch(info, "name")
    key_type = info.key_type if isinstance(info, mi.DictType) else None
    return sorted(str(v) for v in getattr(key_type, "values", ()) or ())


def _walk(steps: list[tuple[str | None, str | None]], raw: Any, root: Any):
    """(found, value, type info) at `steps` in `raw` and in the type `root`."""
    import msgspec.inspect as mi

    value, info = raw, mi.type_info(root) if root is not None else None
    if raw is None:
        return False, None, None
    for name, index in steps:
        info = _branch(info, "index" if name is None and index != "..." else "name")
        if name is not None:
            if not isinstance(value, dict) or name not in value:
                return False, None, None
            value = value[name]
            if isinstance(info, mi.StructType):
                info = next((f.type for f in info.fields if f.encode_name == name), None)
            elif isinstance(info, mi.DictType):
                info = info.value_type
            else:
                info = None
        elif index == "...":  # a value of a table: msgspec does not say which one
            inner = info.value_type if isinstance(info, mi.DictType) else None
            return True, value, _branch(inner, "scalar")
        else:
            if not isinstance(value, list) or int(index) >= len(value):
                return False, None, None
            value = value[int(index)]
            info = info.item_type if isinstance(info, mi.ListType) else None
    return True, value, _branch(info, "scalar", value)


def _branch(info: Any, want: str, value: Any = None) -> Any:
    """The member of a union the next step goes into (a list for an index, a struct or
    table for a name, else the scalar type the value is nearest to)."""
    import msgspec.inspect as mi

    while isinstance(info, mi.Metadata):
        info = info.type
    if not isinstance(info, mi.UnionType):
        return info
    members = [t.type if isinstance(t, mi.Metadata) else t for t in info.types]
    if want == "index":
        kinds = (mi.ListType,)
    elif want == "name":
        kinds = (mi.StructType, mi.DictType)
    else:
        kinds = (mi.IntType, mi.FloatType, mi.StrType, mi.LiteralType)
        if isinstance(value, list):
            kinds = (mi.ListType,)
    chosen = [t for t in members if isinstance(t, kinds)]
    if want == "scalar" and isinstance(value, float):
        chosen = [t for t in chosen if isinstance(t, mi.FloatType)] or chosen
    return chosen[0] if chosen else None


def _fix(info: Any, value: Any) -> str:
    """What to give instead, said from the type: its range, its words, its URL pattern."""
    import msgspec.inspect as mi

    from engines.base import URL_PATTERN

    if isinstance(info, mi.IntType | mi.FloatType):
        lo = (">=", info.ge) if info.ge is not None else (">", info.gt)
        hi = ("<=", info.le) if info.le is not None else ("<", info.lt)
        what = "a whole number" if isinstance(info, mi.IntType) else "a number"
        if isinstance(info, mi.IntType) and lo[0] == ">=" and hi[0] == "<=" \
                and None not in (lo[1], hi[1]):
            return f"give {what} from {_num(lo[1])} to {_num(hi[1])}"
        parts = [f"{op} {_num(v)}" for op, v in (lo, hi) if v is not None]
        return f"give {what} {' and '.join(parts)}" if parts else ""
    if isinstance(info, mi.LiteralType):
        return "use one of: " + ", ".join(map(str, info.values))
    if isinstance(info, mi.StrType) and info.pattern == URL_PATTERN:
        return _url_fix(value)
    if isinstance(info, mi.ListType) and info.min_length and isinstance(value, list) \
            and len(value) < info.min_length:
        return "give at least one value" if info.min_length == 1 else \
            f"give {info.min_length} values"
    if isinstance(info, mi.ListType) and info.max_length is not None \
            and isinstance(value, list) and len(value) > info.max_length:
        return f"give {info.max_length} values"
    return ""


def _url_fix(value: Any) -> str:
    """The fix for a URL without a usable scheme: `http://` in front only where that makes it
    one (not in front of "ftp://…" or " http://…")."""
    import re

    text = value.strip() if isinstance(value, str) else ""
    if text != value and re.fullmatch(r"https?://\S+", text):
        return f'remove the spaces around it: "{text}"'
    if text and "://" not in text and not re.search(r"\s", text):
        return f'give the URL with its scheme, e.g. "http://{text}"'
    return "give a URL that starts with http:// or https://"


def _num(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:_}" if abs(value) >= 100_000 else str(value)
    return f"{value:g}"


def _show(value: Any) -> str:
    """A value as the profile wrote it, cut to 60 characters."""
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, float | int):
        text = repr(value)
    elif isinstance(value, str):
        text = msgspec.json.encode(value).decode()
    else:
        try:
            text = msgspec.json.encode(value).decode()
        except Exception:  # noqa: BLE001 - e.g. nan inside a table
            text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
