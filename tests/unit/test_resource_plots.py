"""report.html's resource plots: utilisation and VRAM over time per GPU from a scripted
telemetry.jsonl, tokens and energy bars per arm — and no empty plot without the data."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from evalcli.report.html import render_report_html
from evalcli.science.costs import GpuUse
from evalcli.store.telemetry import GpuSample, read_telemetry
from tests.unit.test_report import SLUG, report_inputs

SVG = "{http://www.w3.org/2000/svg}"


def _section(page: str, key: str) -> str | None:
    found = re.search(rf'<section id="{key}">(.*?)</section>', page, re.S)
    return found.group(1) if found else None


def _svgs(section: str) -> list[ET.Element]:
    return [ET.fromstring(s) for s in re.findall(r"<svg .*?</svg>", section, re.S)]


def _title(svg: ET.Element) -> str:
    return next(t.text for t in svg.iter(f"{SVG}text") if t.get("font-weight") == "bold")


def _points(svg: ET.Element) -> list[int]:
    return [len(p.get("points").split()) for p in svg.iter(f"{SVG}polyline")]


def _telemetry(path) -> list[GpuSample]:
    """Two GPUs read 6 times a second apart, then a 60 s pause (a resumed run), 3 more;
    GPU 1 reports no memory-bus utilisation and, once, no VRAM."""
    lines = []
    for i, t in enumerate([0, 1, 2, 3, 4, 5, 65, 66, 67]):
        for gpu in (0, 1):
            lines.append({"t": 1000.0 + t, "gpu": gpu, "source": "nvml",
                          "name": "<b>Evil</b> GPU" if gpu else "RTX 4070",
                          "util_gpu": 10 * i, "util_mem": None if gpu else 5 * i,
                          "mem_used_mb": None if (gpu and i == 2) else 100.0 * i,
                          "mem_total_mb": 8192.0, "power_w": 100.0, "procs": {}})
    path.write_text("".join(json.dumps(x) + "\n" for x in lines) + '{"t": 1', encoding="utf-8")
    return read_telemetry(path)  # the torn last line is skipped


def test_gpu_lines_and_arm_bars_from_scripted_telemetry(tmp_path):
    inputs = report_inputs()
    arms = inputs["costs"][SLUG].arms
    arms["control"].resources = GpuUse(energy_j=120.5)
    arms["treatment"].resources = GpuUse(energy_j=300.0)
    page = render_report_html(**inputs, telemetry=_telemetry(tmp_path / "telemetry.jsonl"))
    section = _section(page, "resource-plots")
    assert section is not None and "<script" not in section
    svgs = {_title(s): s for s in _svgs(section)}
    assert set(svgs) == {"GPU 0 (RTX 4070) — utilisation", "GPU 0 (RTX 4070) — VRAM used",
                         "GPU 1 (<b>Evil</b> GPU) — utilisation",
                         "GPU 1 (<b>Evil</b> GPU) — VRAM used",
                         "Tokens per arm (prompt + answer)", "GPU energy per arm"}
    assert "<b>Evil</b>" not in page and "&lt;b&gt;Evil&lt;/b&gt; GPU" in section
    # one point per reading with the value; the 60 s pause splits each line in two
    assert _points(svgs["GPU 0 (RTX 4070) — utilisation"]) == [6, 3, 6, 3]  # GPU, memory bus
    assert _points(svgs["GPU 1 (<b>Evil</b> GPU) — utilisation"]) == [6, 3]  # no memory bus
    assert _points(svgs["GPU 1 (<b>Evil</b> GPU) — VRAM used"]) == [5, 3]  # one reading empty
    tokens = [r for r in svgs["Tokens per arm (prompt + answer)"].iter(f"{SVG}rect")
              if r.find(f"{SVG}title") is not None]
    assert [r.find(f"{SVG}title").text for r in tokens] == [
        f"{arm}: {arms[arm].total_tokens:,.1f} tokens" for arm in arms]
    energy = [r for r in svgs["GPU energy per arm"].iter(f"{SVG}rect")
              if r.find(f"{SVG}title") is not None]
    assert [r.find(f"{SVG}title").text for r in energy] == ["control: 120.5 J",
                                                            "treatment: 300.0 J"]
    assert float(energy[1].get("width")) > float(energy[0].get("width"))


def test_no_telemetry_and_no_counts_no_resource_plot():
    inputs = report_inputs()
    for arm in inputs["costs"][SLUG].arms.values():
        arm.units_without_token_counts = arm.units
    page = render_report_html(**inputs, telemetry=[])
    assert _section(page, "resource-plots") is None and "resource-plots" not in page
    page = render_report_html(**report_inputs())  # tokens counted, no GPU: only the tokens
    assert [_title(s) for s in _svgs(_section(page, "resource-plots"))] == \
        ["Tokens per arm (prompt + answer)"]
