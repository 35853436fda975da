"""Paired statistics for A/B experiments: pure functions over numpy arrays.

Modules: intervals (one arm's CIs), paired (mean paired difference: bootstrap, CLT,
cluster-robust SE). ``significance.build_significance`` assembles significance.json.
"""

from evalcli.stats.intervals import (
    clopper_pearson_interval,
    mean_interval,
    t_interval,
    wilson_interval,
)
from evalcli.stats.paired import bootstrap_means, cluster_robust_se, paired_difference

__all__ = [
    "bootstrap_means",
    "clopper_pearson_interval",
    "cluster_robust_se",
    "mean_interval",
    "paired_difference",
    "t_interval",
    "wilson_interval",
]
