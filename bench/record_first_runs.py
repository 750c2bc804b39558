"""Record what the rules answered on each fresh batch at its first run (not part of the test suite).

    python bench/record_first_runs.py      # writes bench/data/first_run_rules.yaml (about a minute)

For every batch whose freeze is recorded in bench_diagnosis.py (FREEZE5 ... FREEZE35), the code of that freeze is
checked out into a temporary git worktree and asked, with the rules alone, about every log of the batch: the
category, the confidence, and whether an error block was found (the model is asked differently without one). Those
are the rules as they were before anyone saw the batch, so the trainer can choose when to trust them over the model
under the conditions of a first run (``train_classifier.choose_thresholds``), not on logs the rules were since tuned
on. Each batch's full first-run answer is recorded beside them and checked against the figure bench_diagnosis.py
reports, so a record that does not reproduce its first run is refused.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import bench_diagnosis  # noqa: E402

OUT = ROOT / "bench" / "data" / "first_run_rules.yaml"
BATCHES = tuple(b for b in bench_diagnosis.FRESH_BATCHES if b >= 5)  # batch 4's freeze predates the model

# run inside the frozen checkout: every case of one batch, rules alone and in full, as JSON on stdout
_PROBE = """
import json, sys, yaml
from pipeline_sre.diagnosis import diagnose_lines
from pipeline_sre.diagnosis.extract import ErrorExtractor
out = []
for c in yaml.safe_load(open(sys.argv[1], encoding="utf-8"))["cases"]:
    lines = c["log"].splitlines(keepends=True)
    rules = diagnose_lines(lines, use_model=False)
    full = diagnose_lines(lines)
    ex = ErrorExtractor()
    ex.feed_many(lines)
    out.append({"url": c["url"], "rules": [rules.category, rules.confidence], "block": bool(ex.blocks()),
                "first_run": [full.category, full.confidence], "label": c["label"]})
print(json.dumps(out))
"""


def run_in_freeze(commit: str, probe: str, *args: str) -> Any:
    """The JSON that ``probe`` (Python source) prints when run with ``args`` against the package as it was at
    ``commit``, checked out into a temporary git worktree (first_run.py uses it too)."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), commit], check=True)
        try:
            done = subprocess.run(
                [sys.executable, "-c", probe, *args],
                env={"PYTHONPATH": str(tree / "src"), "PATH": "/usr/bin:/bin"},
                capture_output=True,
                text=True,
                check=True,
            )
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True)
    return json.loads(done.stdout)


def _frozen_answers(batch: int, commit: str) -> list[dict[str, Any]]:
    cases = ROOT / "bench" / "data" / f"fresh_batch{batch}.yaml"
    answers: list[dict[str, Any]] = run_in_freeze(commit, _PROBE, str(cases))
    return answers


def main() -> int:
    record: dict[int, Any] = {}
    for batch in BATCHES:
        commit = getattr(bench_diagnosis, f"FREEZE{batch}")
        answers = _frozen_answers(batch, commit)
        right = sum(a["first_run"][0] == a["label"] for a in answers)
        expected = bench_diagnosis.FIRST_RUNS[batch]["right"]
        if right != expected:
            print(f"batch {batch}: the freeze {commit} gives {right} right, its first run recorded {expected}")
            return 1
        record[batch] = {
            "freeze": commit,
            "cases": [{"url": a["url"], "rules": a["rules"], "block": a["block"]} for a in answers],
        }
        print(f"batch {batch} at {commit}: {len(answers)} logs, first run {right} right (as recorded)")
    header = (
        "# The rules' answers on each fresh batch as they stood at its first run (bench/record_first_runs.py writes\n"
        "# this from the freeze commits; train_classifier.py chooses its thresholds on them).\n"
    )
    OUT.write_text(header + yaml.safe_dump(record, sort_keys=True, width=120), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
