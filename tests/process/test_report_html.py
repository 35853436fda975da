"""report.html renders in a real browser: a headless Chromium screenshot that is neither
empty nor one colour. Skipped when no chromium binary is installed."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from evalcli.report.html import render_report_html
from tests.unit.test_report import report_inputs

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)),
                None)


def png_pixels(path: Path) -> tuple[int, int, bytes]:
    """(width, height, decompressed scanlines) of a PNG, with the stdlib only."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, zlib.decompress(idat)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install chromium)")
def test_report_html_renders_in_chromium(tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render_report_html(**report_inputs(failed=1)), encoding="utf-8")
    png = tmp_path / "shot.png"
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}",
         "--window-size=1200,2000", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120)
    assert png.exists(), proc.stderr[-2000:]
    assert png.stat().st_size > 20_000, png.stat().st_size
    width, height, raw = png_pixels(png)
    assert (width, height) == (1200, 2000)
    # text, tables and coloured verdict bars: many distinct byte values, not a blank page
    assert len(set(raw)) > 50
    rows = [raw[i * len(raw) // height: (i + 1) * len(raw) // height] for i in range(height)]
    assert len(set(rows)) > 100  # many different scanlines
