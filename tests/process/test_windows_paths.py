"""Paths a Windows user really has, on every OS: a runs folder whose path is over 260
characters (MAX_PATH), and folders, a profile, data and prompts with non-ASCII names and
text, with the output going to a cp1252 file as `> log.txt` in a legacy console does.

Windows allows paths over MAX_PATH only with LongPathsEnabled = 1 (docs/windows.md; the CI
job sets it); there the long-path test is skipped with that reason when it is off.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import evalcli, read_csv, trial_dirs, write_profile


def _long_paths_enabled() -> bool:
    if sys.platform != "win32":
        return True
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE,
                            r"SYSTEM\CurrentControlSet\Control\FileSystem") as key:
            return winreg.QueryValueEx(key, "LongPathsEnabled")[0] == 1
    except OSError:
        return False


@pytest.mark.skipif(not _long_paths_enabled(),
                    reason="Windows without LongPathsEnabled = 1 refuses paths over 260 "
                           "characters (docs/windows.md, Long paths)")
def test_a_runs_folder_past_max_path(tmp_path):
    runs = tmp_path.joinpath(*[f"{i}-" + "long-folder-name" * 3 for i in range(5)], "runs")
    assert len(str(runs)) > 260
    result = evalcli("run", "--dry-run", "--limit-items", "2", "--runs-dir", runs,
                     "--run-id", "long", "--archive", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    root = runs / "long"
    assert json.loads((root / "run.json").read_text(encoding="utf-8"))["status"] == "completed"
    [trial] = trial_dirs(root)
    assert len(read_csv(trial / "predictions.csv")) == 4
    assert evalcli("resume", "long", "--runs-dir", runs).returncode == 0
    shown = evalcli("show", "long", "--runs-dir", runs)
    assert shown.returncode == 0 and "completed" in shown.stdout, shown.stderr
    assert evalcli("verify", tmp_path / "long.evalcli.zip").returncode == 0


ANSWER = "Gœthe — 歌德"  # U+2014 and CJK: not in cp1252
ITEMS = [
    {"id": "q1", "question": "Wer schrieb „Faust“? ¿Quién? 誰が書いた？", "answers": [ANSWER]},
    {"id": "q2", "question": "Hauptstadt von Österreich?", "answers": ["Wien"]},
]
PROMPTS = '''\
description = "Kontrolle gegen Behandlung — ümlauts, ß, 日本語"
control = "kontrolle"

[system]
kontrolle = "Du bist ein hilfreicher Assistent. Antworte knapp."
behandlung = "Antworte nur mit dem Namen — ohne Erklärung. 名前だけで答えてください。"

[instructions]
open = "Beantworte die Frage."
closed = "Beantworte die Frage (kurz)."
'''


def test_non_ascii_folders_data_and_prompts_on_a_cp1252_console(tmp_path):
    home = tmp_path / "Experimente ü 実験"
    home.mkdir()
    data = home / "fragen-ä.jsonl"
    data.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in ITEMS),
                    encoding="utf-8")
    (home / "prompts-é.toml").write_text(PROMPTS, encoding="utf-8")
    profile = write_profile(home / "profil-ö.toml", workers=2,
                            options={"accuracy": 1.0, "abstain_rate": 0.0},
                            datasets=[{"format": "jsonl", "path": data.name, "type": "closed"}])
    text = profile.read_text(encoding="utf-8").replace('set = "default"',
                                                      'set = "prompts-é.toml"')
    profile.write_text(text, encoding="utf-8")
    runs = home / "Läufe → 結果"
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with open(out, "wb") as fo, open(err, "wb") as fe:  # `> out.txt 2> err.txt`
        code = subprocess.run(
            [sys.executable, "-m", "evalcli", "run", "--profile", str(profile),
             "--runs-dir", str(runs), "--run-id", "nonascii", "--archive"],
            cwd=tmp_path, stdout=fo, stderr=fe, timeout=300,
            env={**os.environ, "PYTHONIOENCODING": "cp1252", "PYTHONUTF8": "0"}).returncode
    stdout, stderr = out.read_bytes().decode("cp1252"), err.read_bytes().decode("cp1252")
    assert code == 0, stderr
    assert "Traceback" not in stderr and "UnicodeEncodeError" not in stderr, stderr
    assert "run id: nonascii" in stdout and "evalcli verify" in stdout
    root = runs / "nonascii"
    [trial] = trial_dirs(root)
    items = [json.loads(line) for line in
             (root / "items.jsonl").read_text(encoding="utf-8").splitlines()]
    [faust] = [item for item in items if item["question"] == ITEMS[0]["question"]]
    rows = read_csv(trial / "predictions.csv")
    answers = {r["condition"]: r["response_text"] for r in rows
               if r["item_id"] == faust["item_id"]}
    assert answers == {"kontrolle": ANSWER, "behandlung": ANSWER}
    tokens = {r["condition"]: int(r["prompt_tokens"]) for r in rows
              if r["item_id"] == faust["item_id"]}
    assert tokens["behandlung"] > tokens["kontrolle"]  # each arm got its own system text
    assert evalcli("verify", tmp_path / "nonascii.evalcli.zip").returncode == 0
