"""The raw report.md of a real run reads as written: no needless backslashes, no Python reprs.

A sweep of two temperatures with stop strings and per-condition accuracies (the mock engine)
fills the setup, verdict, discordant and per-trial sections with the words that used to come
out as `mock \\(bundled:mock\\)`, `top\\_p` and `stop=['Q:']`.
"""

from __future__ import annotations

import re

from tests.helpers import evalcli

PROFILE = """
[engine]
name = "mock"
workers = 1

[engine.options]
accuracy = 0.8
abstain_rate = 0.1
accuracy_by_condition = { treatment = 0.5 }

[sampling]
temperatures = [0.0, 0.7]
samples_per_item = 1
stop = ["Q:", "\\n\\n"]

[[datasets]]
format = "sample"

[prompts]
set = "default"
"""


def test_report_md_has_no_needless_escape_and_no_repr(tmp_path):
    (tmp_path / "p.toml").write_text(PROFILE, encoding="utf-8")
    result = evalcli("run", "--profile", tmp_path / "p.toml", "--limit-items", "12",
                     "--runs-dir", tmp_path / "runs", "--run-id", "raw", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "runs" / "raw" / "report.md").read_text(encoding="utf-8")
    assert "top_p=" in text and 'stop=\\["Q:", "\\n\\n"\\]' in text, text[:2000]
    # a backslash before ( ) - . : or a _ inside a word is never needed
    needless = re.findall(r".{0,20}(?:\\[().:-]|(?<=\w)\\_(?=\w)).{0,20}", text)
    assert not needless, needless[:5]
    reprs = re.findall(r".{0,30}(?:\{'|\[')", text)
    assert not reprs, reprs[:5]
