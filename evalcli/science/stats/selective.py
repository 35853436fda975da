"""Selective prediction: the risk–coverage curve and its area (AURC) for one arm.

evalcli has no confidence score per answer, so an item's confidence is how often the
model answered it: 1 − abstain_rate over its samples. Answering only items whose
abstain_rate ≤ τ, for every attained τ (ascending):

    coverage(τ) = Σ_{kept} (1 − a_i) / n            share of all responses that answered
    risk(τ)     = Σ_{kept} (1 − a_i − r_i) / Σ_{kept} (1 − a_i)   wrong share of the answers

with a_i the abstain rate and r_i the rate of *answered and right* responses: EM for an
answerable item (an abstention scores 0 there), 0 for an unanswerable one (any answer is a
false answer). AURC (Geifman & El-Yaniv 2017; Geifman et al. 2019) integrates risk over
coverage from 0: the first point's risk is held from coverage 0 (items tied at one
confidence cannot be ordered), then trapezoids between points. With one sample per item
there is one point and AURC = risk × coverage. AURC falls when an arm simply answers less
(an arm answering 20% of items, half of them right, has AURC 0.10; one answering all with 70%
right, 0.30), so the report does not rank arms by it. It compares them at **matched
coverage** instead (``matched_risk``): both arms' risk at the lower arm's coverage, each arm
keeping its most-answered items first (ties in random order, so the expected risk).
"""

from __future__ import annotations

import numpy as np

from evalcli.science.stats.intervals import NAN


def risk_coverage(abstain_rate: np.ndarray, answered_right: np.ndarray) -> list[dict]:
    """The curve's points [{threshold, coverage, risk, selective_accuracy, n_items}]."""
    a = np.asarray(abstain_rate, dtype=float).ravel()
    r = np.asarray(answered_right, dtype=float).ravel()
    if a.shape != r.shape:
        raise ValueError(f"abstain_rate and answered_right differ in length: {a.size} vs {r.size}")
    n = a.size
    points: list[dict] = []
    if n == 0:
        return points
    answered = 1.0 - a
    for tau in np.unique(a):
        kept = a <= tau
        ans = float(answered[kept].sum())
        if ans <= 0.0:
            continue  # nothing answered yet at this threshold: no risk is defined
        acc = float(r[kept].sum()) / ans
        points.append(
            {
                "threshold": float(tau),
                "coverage": ans / n,
                "risk": 1.0 - acc,
                "selective_accuracy": acc,
                "n_items": int(kept.sum()),
            }
        )
    return points


def aurc(points: list[dict]) -> float:
    """Area under the risk–coverage curve (see the module docstring). NaN with no points."""
    if not points:
        return NAN
    cov = np.array([0.0] + [p["coverage"] for p in points])
    risk = np.array([points[0]["risk"]] + [p["risk"] for p in points])
    return float(np.sum((cov[1:] - cov[:-1]) * (risk[1:] + risk[:-1]) / 2.0))


def selective_summary(abstain_rate: np.ndarray, answered_right: np.ndarray) -> dict:
    """{points, aurc, coverage (at full threshold), risk (at full threshold)} for one arm."""
    pts = risk_coverage(abstain_rate, answered_right)
    return {
        "points": pts,
        "aurc": aurc(pts),
        "coverage": pts[-1]["coverage"] if pts else 0.0,
        "risk": pts[-1]["risk"] if pts else NAN,
    }


def risk_at_coverage(abstain_rate: np.ndarray, answered_right: np.ndarray,
                     coverage: float) -> float:
    """Expected risk of the arm when it answers only a share ``coverage`` of all n items:
    items in order of confidence (1 − abstain_rate), and within the block of tied items
    that crosses the target, the same fraction of each (random tie-breaking in
    expectation). NaN when coverage ≤ 0 or above what the arm reaches."""
    a = np.asarray(abstain_rate, dtype=float).ravel()
    r = np.asarray(answered_right, dtype=float).ravel()
    n = a.size
    target = coverage * n
    if n == 0 or not coverage > 0 or target > float((1.0 - a).sum()) + 1e-9:
        return NAN
    answered = right = 0.0
    for tau in np.unique(a):
        block = a == tau
        block_answered = float((1.0 - a[block]).sum())
        if block_answered <= 0.0:
            continue
        share = min(1.0, (target - answered) / block_answered)
        answered += share * block_answered
        right += share * float(r[block].sum())
        if answered >= target - 1e-9:
            break
    return 1.0 - right / answered


def matched_risk(control: tuple[np.ndarray, np.ndarray],
                 treatment: tuple[np.ndarray, np.ndarray]) -> dict:
    """Both arms' risk at the lower of their two coverages: {coverage, control_risk,
    treatment_risk, delta (treatment − control; lower is better)}."""
    covs = [float((1.0 - np.asarray(a, dtype=float)).mean()) if np.size(a) else 0.0
            for a, _ in (control, treatment)]
    cov = min(covs)
    c = risk_at_coverage(*control, cov)
    t = risk_at_coverage(*treatment, cov)
    return {"coverage": cov, "control_risk": c, "treatment_risk": t, "delta": t - c}
