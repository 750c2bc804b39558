"""Score a fresh batch once against a freeze, as its first run is recorded (not part of the test suite).

    python bench/first_run.py bench/data/fresh_batch27.yaml 34d5776            # the counts, as JSON
    python bench/first_run.py bench/data/fresh_batch27.yaml 34d5776 --rows r.json  # and every case's answer

The package as it was at the freeze commit is checked out into a temporary worktree and asked about every log of
the batch: with the learned model (the first run), with the rules alone, and whether the labelled decisive line is
inside the excerpt of the log alone and of the log buried between the benchmark's noise lines (as section 2 of
bench_diagnosis.py checks it). The counts are what bench_diagnosis.py records as BATCHn_FIRST_RUN and
BATCHn_DECISIVE_FIRST_RUN. The protocol around it (freeze, gather blind, review, commit, then run once) is in
bench/protocol/README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_diagnosis import noise_lines  # noqa: E402
from record_first_runs import run_in_freeze  # noqa: E402

# run inside the frozen checkout: argv = cases file, noise file (JSON: lines before, lines after)
_PROBE = """
import json, sys, yaml
from pipeline_sre.diagnosis import diagnose_lines
from pipeline_sre.diagnosis.redact import Redactor
from pipeline_sre.diagnosis.fence import strip_control
red = Redactor()
before, after = json.load(open(sys.argv[2], encoding="utf-8"))
rows = []
for c in yaml.safe_load(open(sys.argv[1], encoding="utf-8"))["cases"]:
    lines = c["log"].splitlines(keepends=True)
    full, rules = diagnose_lines(lines), diagnose_lines(lines, use_model=False)
    # the excerpt never carries invisible characters (fence.strip_control), so the line is looked for as it shows it
    wanted = tuple(strip_control(w) for w in (c["decisive"].strip(), red.redact(c["decisive"]).strip())) \
        if c.get("decisive") else ()
    buried = diagnose_lines(before + lines + after).excerpt if wanted else ""
    rows.append({"url": c["url"], "label": c["label"], "category": full.category, "confidence": full.confidence,
                 "rule": full.rule_id, "rules": [rules.category, rules.confidence],
                 "plain": any(w in full.excerpt for w in wanted), "buried": any(w in buried for w in wanted)})
print(json.dumps(rows))
"""
SURE = 0.8  # a wrong answer from this confidence up is a confident one


def counts(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """The first run's figures from the per-case answers (the probe's JSON: ``rules`` is [category, confidence])."""

    def wrong_and_sure(category: str, confidence: float, label: str) -> bool:
        return category not in (label, "unknown") and confidence >= SURE

    return {
        "n": len(rows),
        "right": sum(r["category"] == r["label"] for r in rows),
        "hi_wrong": sum(wrong_and_sure(r["category"], r["confidence"], r["label"]) for r in rows),
        "rules_right": sum(r["rules"][0] == r["label"] for r in rows),
        "rules_hi_wrong": sum(wrong_and_sure(r["rules"][0], r["rules"][1], r["label"]) for r in rows),
        "unknown": sum(r["category"] == "unknown" for r in rows),
        "plain": sum(r["plain"] for r in rows),
        "buried": sum(r["buried"] for r in rows),
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("batch", type=Path, help="the batch file, e.g. bench/data/fresh_batch27.yaml")
    ap.add_argument("commit", help="the freeze commit")
    ap.add_argument("--rows", type=Path, help="also write every case's answer here (JSON)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        noise = Path(tmp) / "noise.json"
        # the same noise as bench_diagnosis.py's buried check
        noise.write_text(json.dumps([noise_lines(5000, seed=1), noise_lines(5000, seed=2, with_warnings=False)]))
        rows = run_in_freeze(args.commit, _PROBE, str(args.batch.resolve()), str(noise))
    if args.rows:
        args.rows.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print(json.dumps(counts(rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
