"""Paired statistics for A/B experiments: pure functions over numpy arrays.

    intervals    one arm: Wilson, Clopper–Pearson, t; mean_interval picks one
    paired       mean paired difference: bootstrap + CLT CIs, paired / cluster-robust SE
    hypothesis   McNemar exact (+ conditional OR), Wilcoxon signed-rank, sign-flip test
    effects      Hodges–Lehmann (exact), Cohen's d_z, Cliff's delta
    multiple     Benjamini–Hochberg q-values
    equivalence  TOST with the (1 − 2α) CI
    selective    risk–coverage curve and AURC
    meta         fixed / random-effects meta-analysis across datasets
    power        minimum detectable effect, items required
    sequential   anytime-valid confidence sequence (betting) for a sequential run
    group_sequential  α-spending boundaries, crossing probabilities, repeated CIs
    gs_design    planning a group-sequential design: planned maximum, power, items
    planning     per metric: fixed-design MDE / items and the design, from a pilot
    significance build_significance(rows) -> the significance.json dict

Nothing here imports ``ipc`` or ``engines``: ``evalcli analyze`` needs no engine.
"""

from evalcli.science.stats.effects import cliffs_delta, cohens_dz, hodges_lehmann
from evalcli.science.stats.equivalence import DEFAULT_TOST_MARGINS, tost
from evalcli.science.stats.hypothesis import mcnemar_exact, sign_flip_test, wilcoxon_signed_rank
from evalcli.science.stats.intervals import (
    clopper_pearson_interval,
    mean_interval,
    mean_interval_method,
    t_interval,
    wilson_interval,
)
from evalcli.science.stats.meta import meta_analysis
from evalcli.science.stats.multiple import benjamini_hochberg
from evalcli.science.stats.paired import bootstrap_means, cluster_robust_se, paired_difference
from evalcli.science.stats.power import items_required, minimum_detectable_effect, power_summary
from evalcli.science.stats.selective import aurc, risk_coverage, selective_summary

__all__ = [
    "DEFAULT_TOST_MARGINS",
    "aurc",
    "benjamini_hochberg",
    "bootstrap_means",
    "cliffs_delta",
    "clopper_pearson_interval",
    "cluster_robust_se",
    "cohens_dz",
    "hodges_lehmann",
    "items_required",
    "mcnemar_exact",
    "mean_interval",
    "mean_interval_method",
    "meta_analysis",
    "minimum_detectable_effect",
    "paired_difference",
    "power_summary",
    "risk_coverage",
    "selective_summary",
    "sign_flip_test",
    "t_interval",
    "tost",
    "wilcoxon_signed_rank",
    "wilson_interval",
]
