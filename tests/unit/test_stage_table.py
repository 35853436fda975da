"""The stages have one table (run/stages.py STAGE_TABLE); the names the light modules keep
for the commands (run/stage_names.py) and the manifest (store/manifest.py) follow it."""

from __future__ import annotations

from evalcli.run.stage_names import LATER_STAGES, select_stages
from evalcli.run.stages import STAGE_TABLE
from evalcli.store.manifest import STAGES


def test_one_order_of_stages_everywhere():
    assert tuple(spec.name for spec in STAGE_TABLE) == LATER_STAGES
    assert STAGES == ("prepare", "plan", "generate", *LATER_STAGES)
    assert select_stages(None, None, None) == ("generate", *LATER_STAGES)

