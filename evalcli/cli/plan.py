"""`evalcli plan`: before a run, how many items a difference needs and what the profile's items
can detect — per metric, the fixed design of the report's verdict rule and the
group-sequential design ([stopping] design = "group-sequential")."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evalcli.cli.common import RunsDir, console


def plan(
    profile: Annotated[str, typer.Option("--profile", "-p", metavar="PROFILE", envvar="EVALCLI_PROFILE", help="Bundled profile name or path to a profile .toml (or $EVALCLI_PROFILE).")] = "local-llamacpp",
    pilot: Annotated[str | None, typer.Option("--pilot", metavar="RUN_ID", help="A finished run (under --runs-dir) whose spread of paired differences to plan from; without one, stated assumptions.")] = None,
    difference: Annotated[float, typer.Option("--difference", help="The difference worth detecting, in points (5 = 5 points).")] = 5.0,
    power: Annotated[float, typer.Option("--power", help="The power to plan for (0.8 = 80%).")] = 0.8,
    limit_items: Annotated[int | None, typer.Option("--limit-items", help="Plan for at most N items per dataset source, as `run --limit-items`.")] = None,
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Plan a run before it starts: per metric, the items needed to detect a difference at a
    power, the minimum detectable effect of the profile's items, and the group-sequential
    design's planned maximum and expected items."""
    from evalcli.errors import ConfigError

    if not 0 < difference <= 100:
        raise ConfigError(f"--difference {difference:g}: give points in (0, 100], e.g. 5")
    if not 0.5 <= power < 1:
        raise ConfigError(f"--power {power:g}: give a probability in [0.5, 1), e.g. 0.8")
    from evalcli.run.planning import planning_report

    for line in planning_report(profile, pilot=pilot, runs_dir=runs_dir,
                                difference=difference / 100.0, power=power,
                                limit_items=limit_items):
        console().print(line, markup=False)
