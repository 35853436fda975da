"""`evalcli gate` as a CI job uses it: a worse treatment fails with exit 6 and leaves a JUnit
file and a step summary; an equal treatment passes a non-inferiority margin only when the
run has the items to show it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.helpers import evalcli, write_profile


def _run(tmp_path, name: str, options: dict, *limit: str) -> None:
    profile = write_profile(tmp_path / f"{name}.toml", workers=1, options=options)
    result = evalcli("run", "--profile", profile, "--runs-dir", tmp_path / "runs",
                     "--run-id", name, *limit)
    assert result.returncode == 0, result.stderr


def test_a_worse_treatment_fails_the_gate_with_junit_and_a_step_summary(tmp_path):
    _run(tmp_path, "worse", {"accuracy": 0.9, "abstain_rate": 0.0,
                             "accuracy_by_condition": {"treatment": 0.2}})
    summary, junit = tmp_path / "summary.md", tmp_path / "gate.xml"
    summary.write_text("earlier step\n", encoding="utf-8")
    result = evalcli("gate", "worse", "--runs-dir", tmp_path / "runs", "--non-inferior", "em:2",
                     "--not-worse", "em", "--no-failed-units", "--junit", junit,
                     env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.returncode == 6, (result.stdout, result.stderr)
    out = result.stdout.splitlines()
    assert out[0].startswith("FAIL  treatment not worse than control on EM by more than 2 ")
    assert out[1].startswith("FAIL  EM not significantly worse")
    assert out[2] == "PASS  no failed units: 0 of 292 unit(s) failed"
    assert "gate FAILED: 1 of 3 criteria met" in out[-1]
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("tests") == "3" and suite.get("failures") == "2"
    cases = suite.findall("testcase")
    assert [c.find("failure") is not None for c in cases] == [True, True, False]
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n")  # appended, as GitHub expects
    assert "FAILED (1 of 3 criteria met)" in text and text.count("❌") == 2


def test_an_equal_treatment_passes_non_inferiority_only_with_enough_items(tmp_path):
    equal = {"accuracy": 1.0, "abstain_rate": 0.0}  # every answer right in both arms
    _run(tmp_path, "full", equal)
    _run(tmp_path, "small", equal, "--limit-items", "20")
    runs = tmp_path / "runs"
    full = evalcli("gate", "full", "--runs-dir", runs, "--non-inferior", "em:10")
    assert full.returncode == 0, (full.stdout, full.stderr)
    assert full.stdout.startswith("PASS  treatment not worse than control on EM by more than 10")
    # the same equal arms on 10 items per book type: the interval is too wide to show it
    small = evalcli("gate", "small", "--runs-dir", runs, "--non-inferior", "em:10")
    assert small.returncode == 6, (small.stdout, small.stderr)
    # and on the full run a margin the items cannot resolve fails too
    tight = evalcli("gate", "full", "--runs-dir", runs, "--non-inferior", "em:2")
    assert tight.returncode == 6, (tight.stdout, tight.stderr)


def test_criteria_from_the_profile_and_user_errors_are_one_line(tmp_path):
    _run(tmp_path, "r", {"accuracy": 1.0, "abstain_rate": 0.0}, "--limit-items", "20")
    runs = tmp_path / "runs"
    profile = tmp_path / "gate.toml"
    profile.write_text('[engine]\nname = "mock"\n\n[gate]\nno_failed_units = true\n'
                       "max_empty_pct = 5\n", encoding="utf-8")
    ok = evalcli("gate", "r", "--runs-dir", runs, "--profile", profile)
    assert ok.returncode == 0 and ok.stdout.count("PASS") == 2, ok.stdout
    for args, words in ((["--non-inferior", "abstain:2"], "worse direction"),
                        (["--non-inferior", "em"], "METRIC:POINTS"),
                        (["--non-inferior", "em:-1"], "above 0"),
                        ([], "no gate criteria")):
        bad = evalcli("gate", "r", "--runs-dir", runs, *args)
        assert bad.returncode == 2 and words in bad.stderr, (args, bad.stderr)
        assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
    # an output that cannot be written (a summary in a missing folder; a JUnit path that is
    # a folder): one line, exit 4
    for flag, target in (("--summary", tmp_path / "no" / "such" / "dir" / "out.md"),
                         ("--junit", tmp_path)):
        unwritable = evalcli("gate", "r", "--runs-dir", runs, "--no-failed-units", flag, target)
        assert unwritable.returncode == 4 and "Traceback" not in unwritable.stderr, flag
        assert len(unwritable.stderr.strip().splitlines()) == 1, unwritable.stderr
    missing = evalcli("gate", "nope", "--runs-dir", runs, "--no-failed-units")
    assert missing.returncode == 4 and len(missing.stderr.strip().splitlines()) == 1


def test_a_sequential_run_that_stopped_early_is_not_gated_on_its_fixed_n_intervals(tmp_path):
    profile = write_profile(tmp_path / "seq.toml", workers=1,
                            options={"accuracy_by_condition": {"control": 0.3,
                                                               "treatment": 0.9}})
    profile.write_text(profile.read_text(encoding="utf-8")
                       + "\n[stopping]\nblock_size = 10\nmin_items = 20\n", encoding="utf-8")
    runs = tmp_path / "runs"
    run = evalcli("run", "--profile", profile, "--runs-dir", runs, "--run-id", "seq")
    assert run.returncode == 0, run.stderr
    gated = evalcli("gate", "seq", "--runs-dir", runs, "--non-inferior", "em:5")
    assert gated.returncode == 2 and "optionally stopped" in gated.stderr, gated.stderr
    assert len(gated.stderr.strip().splitlines()) == 1
    # criteria that do not read the intervals still apply
    plain = evalcli("gate", "seq", "--runs-dir", runs, "--no-failed-units")
    assert plain.returncode == 0, (plain.stdout, plain.stderr)
