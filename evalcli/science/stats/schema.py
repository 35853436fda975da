"""significance.json as types: what the stats stage writes and every reader decodes.

    build_significance ──dict of numbers──► convert() ──► Significance ──encode──► file
    file ──read_significance()──► Significance ──► report/, analysis/compare, costs

A number that could not be computed (NaN, ±inf) is null on disk and None here: readers test
`x is None` (or use report.format's helpers), never a key's presence. Adding a field later
needs a default, so files written before it still decode; a field never changes type or
meaning (docs/statistics.md holds the meaning of each; SCHEMA_VERSION changes otherwise).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import msgspec

Num = float | None  # NaN / inf are written as null


class _Block(msgspec.Struct, kw_only=True):
    """Base of every significance.json object: fields in a stable order, keyword-built."""


class Wilcoxon(_Block, kw_only=True):
    w_plus: Num = None
    w_minus: Num = None
    n_nonzero: int = 0
    z: Num = None
    p_value: Num = None
    method: str | None = None


class Tost(_Block, kw_only=True):
    """Two one-sided tests at ± margin: `equivalent` None when no test could be made."""

    margin: float
    alpha: float
    mean_delta: Num = None
    se: Num = None
    df: int | None = None
    p_lower: Num = None
    p_upper: Num = None
    p_value: Num = None
    ci_low: Num = None
    ci_high: Num = None
    ci_level: float = 0.9
    equivalent: bool | None = None
    method: str = ""  # tango_score[_deff] (0/1 and scaled scores), t, none
    note: str | None = None  # why no test was made


class Power(_Block, kw_only=True):
    """The minimum detectable effect and the items needed for a few target differences
    (keys are the targets as "0.050")."""

    alpha: float
    power: float
    mde: Num = None  # the effect the verdict rule detects with `power` (docs/statistics.md)
    items_required: dict[str, int | None] = {}
    method: str = ""  # exact_binary_rule, scaled_table_rule, normal
    discordance: Num = None  # share of items whose score differs between the arms
    jump: Num = None  # the common size of a change (1 for 0/1 scores)
    n_effective: Num = None  # items ÷ the design effect
    note: str | None = None


class MetricStats(_Block, kw_only=True):
    """Every statistic of one metric of one comparison (paired treatment − control)."""

    n: int
    control_mean: Num = None
    treatment_mean: Num = None
    delta: Num = None
    ci_low: Num = None  # the headline interval (ci_method)
    ci_high: Num = None
    ci_method: str = ""  # tango_paired_score[_deff], tango_scaled_score[_deff], paired_t, …
    ci_note: str | None = None  # why there is no interval ("too few items …")
    clt_low: Num = None
    clt_high: Num = None
    boot_low: Num = None
    boot_high: Num = None
    se: Num = None
    df: int | None = None
    se_method: Literal["paired", "cluster_robust"] = "paired"
    n_clusters: int = 0
    design_effect: Num = None
    correlation: Num = None
    p_value: Num = None  # the primary test's (p_method)
    control_ci_low: Num = None
    control_ci_high: Num = None
    control_ci_method: str = ""
    treatment_ci_low: Num = None
    treatment_ci_high: Num = None
    treatment_ci_method: str = ""
    p_value_t: Num = None
    p_method: str = ""
    q_value: Num = None  # Benjamini–Hochberg over the family; None outside it
    in_family: bool = False
    wilcoxon: Wilcoxon = msgspec.field(default_factory=Wilcoxon)
    hodges_lehmann: Num = None
    cohens_dz: Num = None
    cliffs_delta: Num = None
    tost: Tost | None = None  # None: no margin set for this metric
    power: Power | None = None

    def arm_mean(self, arm: Literal["control", "treatment"]) -> Num:
        return self.control_mean if arm == "control" else self.treatment_mean

    def arm_ci(self, arm: Literal["control", "treatment"]) -> tuple[Num, Num]:
        if arm == "control":
            return self.control_ci_low, self.control_ci_high
        return self.treatment_ci_low, self.treatment_ci_high


class McNemar(_Block, kw_only=True):
    b: int = 0  # items right with control only (EM ≥ threshold)
    c: int = 0  # items right with treatment only
    n_discordant: int = 0
    p_value: Num = None
    odds_ratio: Num = None
    or_ci_low: Num = None
    or_ci_high: Num = None
    metric: str = "em"
    threshold: float = 0.5


class RiskPoint(_Block, kw_only=True):
    threshold: float
    coverage: float
    risk: Num = None
    selective_accuracy: Num = None
    n_items: int = 0


class ArmSelective(_Block, kw_only=True):
    points: list[RiskPoint] = []
    aurc: Num = None
    coverage: Num = None
    risk: Num = None


class MatchedRisk(_Block, kw_only=True):
    coverage: Num = None
    control_risk: Num = None
    treatment_risk: Num = None
    delta: Num = None


class Selective(_Block, kw_only=True):
    control: ArmSelective
    treatment: ArmSelective
    aurc_delta: Num = None
    matched: MatchedRisk = msgspec.field(default_factory=MatchedRisk)


class Comparison(_Block, kw_only=True):
    """One treatment against the control at one temperature and item type, on all items
    (dataset "all") or one dataset's subgroup."""

    treatment: str
    control: str
    temp: float
    type: str  # "closed" | "open" for the built-in datasets
    dataset: str  # "all", or a dataset's name (an exploratory subgroup)
    n_items: int
    n_clusters: int
    clustered: bool = False
    metrics: dict[str, MetricStats] = {}
    mcnemar: McNemar = msgspec.field(default_factory=McNemar)
    selective: Selective | None = None
    n_unpaired_control: int = 0
    n_unpaired_treatment: int = 0
    prompt_set: str = ""  # a sweep: which model / prompt set / settings this trial is

    def where(self) -> str:
        """Plain text (callers escape it): "open-book, T=0" or "set: open-book, T=0"."""
        where = f"{self.type}-book, T={self.temp:g}"
        return f"{self.prompt_set}: {where}" if self.prompt_set else where


class Pooled(_Block, kw_only=True):
    delta: Num = None
    se: Num = None
    ci_low: Num = None
    ci_high: Num = None


class RandomPooled(Pooled, kw_only=True):
    tau2: Num = None  # the between-dataset variance


class Heterogeneity(_Block, kw_only=True):
    Q: Num = None
    df: int = 0
    p_value: Num = None
    I2: Num = None
    tau2: Num = None


class MetaResult(_Block, kw_only=True):
    """Fixed- and random-effects pooling of one metric over a comparison's datasets."""

    treatment: str
    control: str
    temp: float
    type: str
    metric: str
    k: int
    included: list[str] = []
    excluded: list[str] = []
    fixed: Pooled = msgspec.field(default_factory=Pooled)
    random: RandomPooled = msgspec.field(default_factory=RandomPooled)
    heterogeneity: Heterogeneity = msgspec.field(default_factory=Heterogeneity)


class Settings(_Block, kw_only=True):
    control: str
    treatments: list[str]
    confidence: float
    seed: int
    n_boot: int
    n_perm: int
    tost_margins: dict[str, float]
    primary_test: Literal["sign_flip_permutation", "paired_t"]
    fdr_method: str
    family: str
    family_size: int
    mcnemar_threshold: float
    power: float


class TrialInfo(_Block, kw_only=True):
    """A sweep: which trial this file belongs to (the report's per-trial matrix)."""

    slug: str
    label: str = ""
    params: dict[str, object] = {}


class Significance(_Block, kw_only=True):
    schema_version: int
    generated_by: str = ""
    settings: Settings
    conditions: list[str] = []
    temps: list[float] = []
    types: list[str] = []
    comparisons: list[Comparison] = []
    meta: list[MetaResult] = []
    warnings: list[str] = []
    trial: TrialInfo | None = None

    def overall(self) -> list[Comparison]:
        """The comparisons on all items (dataset "all"): the verdict's."""
        return [c for c in self.comparisons if c.dataset == "all"]


def read_significance(path: Path) -> Significance:
    """A trial's significance.json; a file that is not one is one DataError naming it."""
    from evalcli.store.jsonfile import read_json

    return read_json(path, Significance, redo="stats")


def write_significance(path: Path, sig: Significance) -> None:
    from evalcli.store.jsonfile import write_json

    write_json(path, sig)


# -- compare.json: several runs paired on the items they share ------------------------------
class PairComparison(Comparison, kw_only=True):
    """A Comparison between two cells (run × trial × condition): control = cell A's label,
    treatment = cell B's; `pair` is its index in CompareResult.pairs."""

    pair: int = 0


class TrialRef(_Block, kw_only=True):
    slug: str
    label: str = ""  # what sets it apart within its run; "" for a lone trial


class RunFacts(_Block, kw_only=True):
    label: str
    source: str
    run_id: str
    status: str
    profile: str
    engine: str
    model: str
    prompt_sets: list[str]
    items: int
    trials: list[TrialRef]
    conditions: list[str]


class Overlap(_Block, kw_only=True):
    first: str
    second: str
    shared: int
    changed: int
    changed_items: list[str]
    only_first: int
    only_second: int


class CellMean(_Block, kw_only=True):
    mean: Num = None
    ci_low: Num = None
    ci_high: Num = None
    n: int = 0
    method: str = ""


class MatrixEntry(_Block, kw_only=True):
    cell: str
    run: str
    trial: str
    trial_label: str
    condition: str
    type: str
    n_items: int
    metrics: dict[str, CellMean]


class CellPair(_Block, kw_only=True):
    a: str
    b: str


class CompareSettings(_Block, kw_only=True):
    confidence: float
    seed: int
    n_boot: int
    n_perm: int
    tost_margins: dict[str, float]
    fdr_method: str
    family: str
    family_size: int
    stats_from: str


class CompareResult(_Block, kw_only=True):
    runs: list[RunFacts]
    items: list[Overlap]
    common_items: int
    metrics: list[str]
    matrix: list[MatrixEntry]
    pairs: list[CellPair]
    comparisons: list[PairComparison]
    settings: CompareSettings
