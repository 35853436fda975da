"""Prompt sets: one control and one or more treatment system prompts, plus task instructions.

    prompt-set TOML ──► PromptSet ──build_messages(condition, item)──► [system, user]
                                    user = layout.open / layout.closed with {instructions},
                                           {passage}, {question} filled in

Only the system message differs between conditions; the user message (instructions,
passage, question) is byte-identical across conditions for the same item.
"""

from __future__ import annotations

import hashlib
import string
from importlib import resources
from pathlib import Path

import msgspec

from engines.base import ChatMessage, ConfigStruct
from evalcli.errors import ConfigError
from evalcli.inputs.items import Item


class Instructions(ConfigStruct):
    open: str
    closed: str


class Layout(ConfigStruct):
    """How the user message is laid out; the defaults are evalcli's original layout."""

    open: str = "{instructions}\n\nPASSAGE:\n{passage}\n\nQUESTION:\n{question}"
    closed: str = "{instructions}\n\nQUESTION:\n{question}"


LAYOUT_FIELDS = {"open": {"instructions", "passage", "question"},
                 "closed": {"instructions", "question"}}


class PromptSet(ConfigStruct):
    control: str
    system: dict[str, str]
    instructions: Instructions
    layout: Layout = Layout()
    description: str = ""
    abstain_phrase: str = "I don't know."

    @property
    def conditions(self) -> list[str]:
        """Control first, then the treatments in file order."""
        return [self.control] + [c for c in self.system if c != self.control]

    @property
    def treatments(self) -> list[str]:
        return [c for c in self.system if c != self.control]


class LoadedPromptSet(msgspec.Struct, frozen=True):
    prompts: PromptSet
    name: str
    source: str
    sha256: str  # of the prompt-set file's bytes


def load_prompt_set(spec: str, base_dir: Path) -> LoadedPromptSet:
    """A bundled prompt set by name ("default"), or a prompt-set TOML file by path."""
    bundled = resources.files("evalcli.inputs").joinpath("data", "prompts", f"{spec}.toml")
    if not spec.endswith(".toml") and bundled.is_file():
        data, source, name = bundled.read_bytes(), f"bundled:{spec}", spec
    else:
        path = Path(spec).expanduser()
        if not path.is_absolute():
            path = base_dir / path
        if not path.is_file():
            raise ConfigError(
                f"prompts.set = {spec!r}: no bundled prompt set and no file {path} — "
                "use \"default\" or a path to a prompt-set .toml (see docs/prompts.md)"
            )
        try:
            data, source, name = path.read_bytes(), str(path), path.stem
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the prompt set ({exc.strerror or exc})"
                              ) from None
    try:  # a UTF-8 BOM (Notepad) is fine
        prompts = msgspec.toml.decode(data.removeprefix(b"\xef\xbb\xbf"), type=PromptSet)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as exc:
        from evalcli.inputs.config import describe_validation_error

        detail = (
            describe_validation_error(exc) if isinstance(exc, msgspec.ValidationError)
            else "nested too deeply" if isinstance(exc, RecursionError) else exc
        )
        raise ConfigError(f"{source}: {detail}") from None
    if prompts.control not in prompts.system:
        raise ConfigError(
            f"{source}: control = {prompts.control!r} has no [system] entry — "
            f"add system.{prompts.control} or set control to one of {list(prompts.system)}"
        )
    if not prompts.treatments:
        raise ConfigError(f"{source}: [system] needs at least one treatment besides the control")
    for condition in prompts.system:
        if not condition or any(ch in condition for ch in "|/\\ "):
            raise ConfigError(
                f"{source}: condition name {condition!r} — use letters, digits, - and _ only"
            )
    _check_layout(prompts.layout, source)
    return LoadedPromptSet(prompts, name, source, hashlib.sha256(data).hexdigest())


def _check_layout(layout: Layout, source: str) -> None:
    for kind, allowed in LAYOUT_FIELDS.items():
        template = getattr(layout, kind)
        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
        except ValueError as exc:
            raise ConfigError(f"{source}: layout.{kind}: {exc} — write a literal brace as "
                              "{{ or }}") from None
        unknown = sorted(fields - allowed)
        if unknown or "question" not in fields:
            problem = (f"uses {{{unknown[0]}}}" if unknown else "has no {question}")
            raise ConfigError(
                f"{source}: layout.{kind} {problem} — use "
                f"{', '.join('{' + f + '}' for f in sorted(allowed))} (see docs/prompts.md)"
            )


def user_message(prompts: PromptSet, item: Item) -> str:
    if item.type == "open":
        return prompts.layout.open.format(instructions=prompts.instructions.open.strip(),
                                          passage=item.passage, question=item.question)
    return prompts.layout.closed.format(instructions=prompts.instructions.closed.strip(),
                                        question=item.question)


def build_messages(prompts: PromptSet, condition: str, item: Item) -> list[ChatMessage]:
    return [
        ChatMessage("system", prompts.system[condition].strip()),
        ChatMessage("user", user_message(prompts, item)),
    ]


def prompt_sha256(prompts: PromptSet, condition: str) -> str:
    return hashlib.sha256(prompts.system[condition].strip().encode("utf-8")).hexdigest()
