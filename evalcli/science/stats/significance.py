"""Build significance.json from per-item score rows: pair, compute, adjust, serialise.

    rows (item × condition × temp) ──► pair each treatment with `control` by item_key,
        per (temp, type) and per dataset subgroup
        └─► per metric: paired_difference (bootstrap + CLT, cluster-robust when items share
            a group), sign-flip test (primary), t-test, Wilcoxon, HL, d_z, Cliff's δ, TOST, power
        └─► per block: McNemar on EM ≥ 0.5, risk–coverage/AURC per arm
    ──► BH q-values over the declared family: primary p of every
        (treatment, temp, type, metric) on dataset "all"
    ──► meta-analysis of the dataset subgroups ──► JSON-safe dict (NaN/inf → None)
    ──► Significance (schema.py: the types every reader decodes)

The schema is documented in docs/statistics.md; SCHEMA_VERSION changes when a key is
renamed or changes meaning (adding keys does not).
"""

from __future__ import annotations

import math
import zlib
from collections import defaultdict
from collections.abc import Iterable

import msgspec
import numpy as np

from evalcli.science.per_item import ItemRow, ItemTable, as_table
from evalcli.science.stats.effects import cliffs_delta, cohens_dz, hodges_lehmann
from evalcli.science.stats.equivalence import DEFAULT_TOST_MARGINS, tost
from evalcli.science.stats.hypothesis import mcnemar_exact, sign_flip_test, wilcoxon_signed_rank
from evalcli.science.stats.intervals import mean_interval, mean_interval_method
from evalcli.science.stats.meta import meta_analysis
from evalcli.science.stats.multiple import benjamini_hochberg
from evalcli.science.stats.paired import MIN_ITEMS, paired_difference
from evalcli.science.stats.power import rule_power_summary
from evalcli.science.stats.schema import Significance
from evalcli.science.stats.selective import matched_risk, selective_summary

SCHEMA_VERSION = 2  # 2: ci_low/high = the headline interval (Tango / t), boot_low/high added
METRICS = ("em", "f1", "abstain_rate", "false_answer_rate", "unsupported_rate")
TYPES_ORDER = ("closed", "open")
MCNEMAR_THRESHOLD = 0.5  # an item counts as correct when its mean EM ≥ this
POWER = 0.8


def _seed(seed: int, *parts) -> np.random.SeedSequence:
    """A seed per block, stable whatever other blocks exist."""
    key = "|".join(str(p) for p in parts).encode("utf-8")
    return np.random.SeedSequence([seed, zlib.crc32(key)])


def _metric_block(c, t, clusters, *, confidence, n_boot, n_perm, seed_seq, margin) -> dict:
    """Every statistic of one metric over paired per-item values c, t."""
    d = t - c
    pd = paired_difference(
        c, t, confidence=confidence, n_boot=n_boot, seed=seed_seq, clusters=clusters
    )
    clustered = pd["se_method"] == "cluster_robust"
    _, c_lo, c_hi = mean_interval(c, confidence)
    _, t_lo, t_hi = mean_interval(t, confidence)
    if n_perm > 0:
        perm = sign_flip_test(
            d, n_perm=n_perm, seed=seed_seq.spawn(1)[0], clusters=clusters if clustered else None
        )
        p, p_method = perm["p_value"], "sign_flip_permutation"
    else:
        p, p_method = pd["p_value"], "paired_t"
    alpha = round(1.0 - confidence, 10)
    block = {
        **pd,
        "control_ci_low": c_lo,
        "control_ci_high": c_hi,
        "control_ci_method": mean_interval_method(c),
        "treatment_ci_low": t_lo,
        "treatment_ci_high": t_hi,
        "treatment_ci_method": mean_interval_method(t),
        "p_value_t": pd["p_value"],
        "p_value": p,
        "p_method": p_method,
        "q_value": None,
        "in_family": False,
        "wilcoxon": wilcoxon_signed_rank(d),
        "hodges_lehmann": hodges_lehmann(d),
        "cohens_dz": cohens_dz(d),
        "cliffs_delta": cliffs_delta(c, t),
        "tost": tost(d, margin, alpha=alpha, clusters=clusters if clustered else None,
                     design_effect=pd["design_effect"])
        if margin is not None
        else None,
        "power": rule_power_summary(d, design_effect=pd["design_effect"], alpha=alpha,
                                    power=POWER, min_items=MIN_ITEMS),
    }
    return block


def _block(table: ItemTable, ctrl: np.ndarray, trt: np.ndarray, head: dict, *, seed: int,
           confidence, n_boot, n_perm, margins):
    """One comparison entry: metrics, McNemar and selective risk for paired rows (row
    numbers `ctrl` and `trt` of `table`, pair by pair)."""
    groups = table.text["group"][ctrl]
    # clusters: an item's group, or the item alone; with no groups every item is its own
    # cluster, the same as no clusters (and no string per item is made)
    labels = np.array([g if g else f"item:{k}" for g, k in zip(
        groups, table.text["item_key"][ctrl], strict=True)]) if any(groups) else None
    num = table.num
    metrics = {}
    for metric in METRICS:
        c_all, t_all = num[metric][ctrl], num[metric][trt]
        ok = ~(np.isnan(c_all) | np.isnan(t_all))
        if not ok.any():
            continue
        metrics[metric] = _metric_block(
            c_all[ok],
            t_all[ok],
            None if labels is None else labels[ok],
            confidence=confidence,
            n_boot=n_boot,
            n_perm=n_perm,
            seed_seq=_seed(seed, *head.values(), metric),
            margin=margins.get(metric),
        )
    em_c, em_t = num["em"][ctrl], num["em"][trt]
    ok = ~(np.isnan(em_c) | np.isnan(em_t))
    mcn = mcnemar_exact(
        (em_c[ok] >= MCNEMAR_THRESHOLD).astype(float),
        (em_t[ok] >= MCNEMAR_THRESHOLD).astype(float),
        confidence,
    )
    selective, curves = {}, {}
    for arm, rows in (("control", ctrl), ("treatment", trt)):
        abst = num["abstain_rate"][rows]
        # a wrong answer to an unanswerable item is scored by false_answer_rate: risk 0 here
        right = np.where(np.isnan(num["false_answer_rate"][rows]), num["em"][rows], 0.0)
        keep = ~(np.isnan(abst) | np.isnan(right))
        selective[arm] = selective_summary(abst[keep], right[keep])
        curves[arm] = (abst[keep], right[keep])
    selective["aurc_delta"] = selective["treatment"]["aurc"] - selective["control"]["aurc"]
    selective["matched"] = matched_risk(curves["control"], curves["treatment"])
    return {
        **head,
        "n_items": len(ctrl),
        "n_clusters": len(ctrl) if labels is None else int(np.unique(labels).size),
        "clustered": labels is not None and bool(np.unique(labels).size < labels.size),
        "metrics": metrics,
        "mcnemar": {**mcn, "metric": "em", "threshold": MCNEMAR_THRESHOLD},
        "selective": selective,
    }


def build_significance(rows: ItemTable | Iterable[ItemRow], **kw) -> Significance:
    """significance.json for per-item score rows — an ItemTable, or ItemRows (see
    docs/statistics.md; the arguments are significance_numbers'): the numbers, typed once."""
    return msgspec.convert(significance_numbers(rows, **kw), Significance)


def significance_numbers(
    rows: ItemTable | Iterable[ItemRow],
    *,
    control: str,
    seed: int = 0,
    n_boot: int = 5000,
    n_perm: int = 5000,
    tost_margins: dict[str, float] | None = None,
    confidence: float = 0.95,
) -> dict:
    """The numbers of significance.json as JSON-safe plain dicts (NaN/inf → None)."""
    margins = dict(DEFAULT_TOST_MARGINS if tost_margins is None else tost_margins)
    table = as_table(rows)
    index = table.blocks()
    conditions = list(dict.fromkeys(table.text["condition"].tolist()))
    if control not in conditions:
        raise ValueError(
            f"control condition {control!r} has no score rows; conditions present: "
            f"{', '.join(conditions) or '(none)'}"
        )
    treatments = [c for c in conditions if c != control]
    temps = sorted({k[1] for k in index})
    types = [t for t in TYPES_ORDER if any(k[2] == t for k in index)]
    types += sorted({k[2] for k in index} - set(types))
    opts = dict(seed=seed, confidence=confidence, n_boot=n_boot, n_perm=n_perm, margins=margins)
    comparisons, warnings = [], []
    for trt in treatments:
        for temp in temps:
            for typ in types:
                none = np.zeros(0, dtype=np.intp)
                c_rows = index.get((control, temp, typ), none)
                t_rows = index.get((trt, temp, typ), none)
                at_c, at_t = table.pair(c_rows, t_rows)
                un_c, un_t = c_rows.size - at_c.size, t_rows.size - at_t.size
                if un_c or un_t:
                    warnings.append(
                        f"{trt} vs {control} at temp {temp} ({typ}): {un_c} control and "
                        f"{un_t} treatment items have no partner and are left out"
                    )
                if not at_c.size:
                    continue
                head = {"treatment": trt, "control": control, "temp": temp, "type": typ}
                pairing = {"n_unpaired_control": un_c, "n_unpaired_treatment": un_t}
                comparisons.append(
                    {**_block(table, at_c, at_t, {**head, "dataset": "all"}, **opts), **pairing}
                )
                ctrl_datasets = table.text["dataset"][at_c]
                datasets = sorted(set(ctrl_datasets.tolist()))
                if len(datasets) < 2:
                    continue
                for ds in datasets:
                    sel = ctrl_datasets == ds
                    comparisons.append(
                        _block(table, at_c[sel], at_t[sel], {**head, "dataset": ds}, **opts)
                    )
    family = [
        m for comp in comparisons if comp["dataset"] == "all" for m in comp["metrics"].values()
    ]
    for m, q in zip(family, benjamini_hochberg([m["p_value"] for m in family]), strict=True):
        m["q_value"], m["in_family"] = q, q is not None
    return _json_safe(
        {
            "schema_version": SCHEMA_VERSION,
            "generated_by": "evalcli.science.stats.significance",
            "settings": {
                "control": control,
                "treatments": treatments,
                "confidence": confidence,
                "seed": seed,
                "n_boot": n_boot,
                "n_perm": n_perm,
                "tost_margins": margins,
                "primary_test": "sign_flip_permutation" if n_perm > 0 else "paired_t",
                "fdr_method": "benjamini_hochberg",
                "family": "primary p of every (treatment, temp, type, metric) on dataset 'all'",
                "family_size": sum(1 for m in family if m["in_family"]),
                "mcnemar_threshold": MCNEMAR_THRESHOLD,
                "power": POWER,
            },
            "conditions": conditions,
            "temps": temps,
            "types": types,
            "comparisons": comparisons,
            "meta": _meta(comparisons, confidence),
            "warnings": warnings,
        }
    )


def _meta(comparisons: list[dict], confidence: float) -> list[dict]:
    """Meta-analysis across dataset subgroups, per (treatment, temp, type, metric)."""
    subgroups = defaultdict(list)
    for comp in comparisons:
        if comp["dataset"] != "all":
            subgroups[(comp["treatment"], comp["control"], comp["temp"], comp["type"])].append(comp)
    out = []
    for (trt, ctrl, temp, typ), comps in subgroups.items():
        for metric in METRICS:
            have = [c for c in comps if metric in c["metrics"]]
            if len(have) < 2:
                continue
            res = meta_analysis(
                [c["metrics"][metric]["delta"] for c in have],
                [c["metrics"][metric]["se"] for c in have],
                [c["dataset"] for c in have],
                confidence=confidence,
            )
            out.append(
                {
                    "treatment": trt,
                    "control": ctrl,
                    "temp": temp,
                    "type": typ,
                    "metric": metric,
                    **res,
                }
            )
    return out


def _json_safe(obj):
    """NaN/±inf → None, numpy scalars → Python, tuples → lists (json.dumps-able, strict)."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    return obj


def significance_for(rows: ItemTable | Iterable[ItemRow], *, control: str,
                     stats) -> Significance:
    """build_significance with a profile's StatsConfig (seed, resamples, margins, level)."""
    return build_significance(rows, control=control, seed=stats.seed,
                              n_boot=stats.bootstrap_samples, n_perm=stats.permutation_samples,
                              tost_margins=dict(stats.tost_margins), confidence=stats.confidence)
