"""Merge what a fresh batch's collectors kept and their reviewers checked into one batch file (not part of the test
suite). The protocol is in bench/protocol/README.md.

    python bench/merge_batch.py used WORKDIR                # write WORKDIR/used_urls.txt for the collectors
    python bench/merge_batch.py merge WORKDIR OUT.yaml      # the batch's cases (its header comment is written by hand)

WORKDIR holds each collector's NAME.yaml ({cases: [{url, label, note, decisive, log}]}) and NAME_looked.txt, and each
reviewer's NAME_reviewed.yaml ([{url, verdict, label, reason}]); a reviewer sent after cases another left unverified
writes u*_reviewed.yaml, whose verdicts win. A case is kept only when its review says keep or relabel (the reviewer's
label is taken) and it is new (no URL in this repository's data, tests, docs or README, nor in used_urls.txt), its
repository has no other case in the batch, its label is a category, its decisive line is in its log verbatim, and
its log has at most MAX_LINES lines.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pipeline_sre.models import CATEGORIES  # noqa: E402

MAX_LINES = 60
_URL = re.compile(r"https?://[^\s\"'<>)`]+")
_GITHUB_REPO = re.compile(r"https?://github\.com/([^/]+/[^/]+)")


def cited_urls() -> set[str]:
    """Every URL this repository's benchmark data, tests, docs and README cite."""
    out = subprocess.run(
        ["git", "-C", str(ROOT), "grep", "-hI", "https\\?://", "--", "bench/data", "tests", "docs", "README.md"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {_norm(u) for u in _URL.findall(out)}


def _norm(url: str) -> str:
    return url.strip().rstrip(".,;:").rstrip("/")


def repository(url: str) -> str:
    """owner/name of a GitHub URL; the URL itself for any other site."""
    m = _GITHUB_REPO.match(url)
    return m.group(1).lower() if m else _norm(url)


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def merge(workdir: Path) -> tuple[list[dict[str, str]], list[tuple[str, str, str]]]:
    """The kept cases and, for every other one, (collector, url, why)."""
    used = cited_urls()
    listed = workdir / "used_urls.txt"
    if listed.exists():
        used |= {_norm(u) for u in listed.read_text(encoding="utf-8").split()}
    second: dict[str, dict[str, Any]] = {}
    for extra in sorted(workdir.glob("u*_reviewed.yaml")):
        second |= {_norm(r["url"]): r for r in _load(extra)}
    kept: list[dict[str, str]] = []
    dropped: list[tuple[str, str, str]] = []
    urls: set[str] = set()
    repos: set[str] = set()
    for reviewed in sorted(workdir.glob("*_reviewed.yaml")):
        name = reviewed.name.removesuffix("_reviewed.yaml")
        if name.startswith("u"):
            continue
        verdicts = {_norm(r["url"]): r for r in _load(reviewed)} | second
        for case in _load(workdir / f"{name}.yaml")["cases"]:
            url = _norm(case["url"])
            review = verdicts.get(url)
            label = review["label"] if review and review["verdict"] == "relabel" else case["label"]
            why = None
            if review is None or review["verdict"] not in ("keep", "relabel"):
                why = f"review: {review['verdict'] if review else 'none'}"
            elif url in used or url in urls:
                why = "thread already used"
            elif repository(url) in repos:
                why = "second case from one repository"
            elif label not in CATEGORIES or label == "unknown":
                why = f"label {label!r} is not a category"
            elif case["decisive"] not in case["log"]:
                why = "decisive line not verbatim in the log"
            elif len(case["log"].splitlines()) > MAX_LINES:
                why = f"log over {MAX_LINES} lines"
            if why:
                dropped.append((name, url, why))
                continue
            urls.add(url)
            repos.add(repository(url))
            kept.append({"url": url, "label": label, **{k: case[k] for k in ("note", "decisive", "log")}})
    return kept, dropped


class _Literal(yaml.SafeDumper):
    """Multi-line strings as `|` blocks, as the batch files are written."""


_Literal.add_representer(
    str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None)
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=("used", "merge"))
    ap.add_argument("workdir", type=Path)
    ap.add_argument("out", type=Path, nargs="?")
    args = ap.parse_args(argv)
    if args.action == "used":
        looked = {_norm(u) for f in args.workdir.glob("*_looked.txt") for u in f.read_text(encoding="utf-8").split()}
        (args.workdir / "used_urls.txt").write_text("\n".join(sorted(cited_urls() | looked)) + "\n", encoding="utf-8")
        return 0
    if args.out is None:
        ap.error("merge needs OUT.yaml")
    kept, dropped = merge(args.workdir)
    body = yaml.dump({"cases": kept}, Dumper=_Literal, sort_keys=False, allow_unicode=True, width=120)
    if yaml.safe_load(body)["cases"] != kept:
        raise SystemExit("the written cases do not read back the same")
    args.out.write_text(body, encoding="utf-8")
    for name, url, why in dropped:
        print(f"dropped ({name}): {why}: {url}")
    print(f"kept {len(kept)}: {dict(Counter(c['label'] for c in kept))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
