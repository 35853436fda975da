"""The stages after generate, by name, and --from/--to/--only → the stages to run.

Kept apart from evalcli.run.stages (statistics, reports: numpy and scipy) so that a command
checks its flags, and `run` reaches its first unit, without importing them.
"""

from __future__ import annotations

from evalcli.errors import ConfigError

LATER_STAGES = ("parse", "score", "stats", "costs", "report")


def select_stages(from_: str | None, to: str | None, only: str | None) -> tuple[str, ...]:
    """The stages to run, in order, from --from/--to/--only (generate and the later ones)."""
    order = ("generate", *LATER_STAGES)
    for flag, value in (("--from", from_), ("--to", to), ("--only", only)):
        if value is not None and value not in order:
            raise ConfigError(f"{flag} {value!r}: not a stage — use one of {', '.join(order)}")
    if only is not None:
        if from_ is not None or to is not None:
            raise ConfigError("--only cannot be combined with --from/--to")
        return (only,)
    start = order.index(from_) if from_ else 0
    end = order.index(to) if to else len(order) - 1
    if start > end:
        raise ConfigError(f"--from {from_} comes after --to {to}")
    return order[start:end + 1]
