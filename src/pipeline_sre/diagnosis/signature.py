"""Stable fingerprints of failures, and log-line templates.

``signature_of`` hashes what stays the same when the same failure happens again (exception type,
the message with its variable parts masked, the innermost function names) so that two runs of one
failure share a signature and different failures do not. ``TemplateMiner`` groups log lines into
templates with drain3 (Drain, He et al. 2017), configured with the same masking.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from pipeline_sre.diagnosis.extract import ErrorBlock

# Order matters: larger structures first so their pieces are not masked one by one.
_MASKS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), r)
    for p, r in (
        (r"\b[a-z][a-z0-9+.\-]{1,20}://[^\s\"'<>)\]]+", "<URL>"),
        (r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "<UUID>"),
        (
            r"\b\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d)?(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)?"
            r"|\b\d\d:\d\d:\d\d(?:[.,]\d+)?\b",
            "<TS>",
        ),
        (r"\b[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+\b", "<EMAIL>"),
        (r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b", "<IP>"),
        (r"\b(?:[0-9a-f]{1,4}:){3,7}[0-9a-f]{1,4}\b", "<IP>"),
        (r"(?<![\w/.])(?:[a-z]:)?(?:[/\\][\w.@%+~=\-]+){2,}[/\\]?", "<PATH>"),
        (r"\b(?:[a-z0-9\-]+\.){2,}(?:[a-z]{2,}|internal|local)\b(?::\d+)?", "<HOST>"),
        (r"\"(?:[^\"\\]|\\.){0,300}\"", '"<*>"'),
        (r"'(?:[^'\\]|\\.){0,300}'", "'<*>'"),
        (r"`[^`]{0,300}`", "`<*>`"),
        (r"\b0x[0-9a-f]+\b", "<HEX>"),
        (r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b", "<HEX>"),
        (r"\b[\w\-]*\d[\w\-]*\b", "<NUM>"),
    )
)
_SPACES = re.compile(r"\s+")


def mask_variables(text: str) -> str:
    """Replace the parts of ``text`` that vary between runs (ids, numbers, paths ...) by placeholders."""
    if not isinstance(text, str):
        text = str(text)
    out = text[:4000]
    for rx, repl in _MASKS:
        out = rx.sub(repl, out)
    return _SPACES.sub(" ", out).strip()


def _frame_function(frame: str) -> str:
    # python: "path/to/file.py:12 in func"; jvm: "com.foo.Bar.method(Bar.java:12)"
    if " in " in frame:
        return frame.rsplit(" in ", 1)[1].strip()
    return frame.split("(", 1)[0].strip()


def signature_of(block: ErrorBlock) -> str:
    """A 12-hex fingerprint of a failure, stable across runs (see the module docstring)."""
    message = (block.message or "").strip().split("\n", 1)[0][:500]
    if not block.exception and not message:
        message = block.evidence[:500]
    parts = [
        block.exception or "",
        mask_variables(message),
        ",".join(_frame_function(f) for f in block.frames[:3]),
    ]
    return hashlib.sha256("|".join(parts).encode("utf-8", errors="replace")).hexdigest()[:12]


# drain3 masking, applied by drain3 before it clusters a line
_DRAIN_MASKS: tuple[tuple[str, str], ...] = (
    (r"((?<=[^A-Za-z0-9])|^)[a-zA-Z][a-zA-Z0-9+.\-]{1,20}://\S+((?=[^A-Za-z0-9])|$)", "URL"),
    (r"((?<=[^A-Za-z0-9])|^)(\d{1,3}\.){3}\d{1,3}(:\d+)?((?=[^A-Za-z0-9])|$)", "IP"),
    (
        r"((?<=[^A-Za-z0-9])|^)[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
        r"((?=[^A-Za-z0-9])|$)",
        "UUID",
    ),
    (r"((?<=[^A-Za-z0-9])|^)0x[0-9a-fA-F]+((?=[^A-Za-z0-9])|$)", "HEX"),
    (r"((?<=[^A-Za-z0-9])|^)([\-+]?\d+(\.\d+)?)((?=[^A-Za-z0-9])|$)", "NUM"),
)


# A line that starts with the client's address (access logs: "10.0.0.1 \"GET /x HTTP/1.1\" status: 200 ...",
# sometimes a comma-separated proxy chain) would put every such line under one first token in Drain's
# prefix tree, so a GET and a POST of the same shape end in one cluster. The address is taken off before
# Drain sees the line and put back, as <IP>, in front of the template.
_LEADING_ADDRESS = re.compile(r"^(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?(?:,\s?(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?)*[ \t]+(?=\S)")


class TemplateMiner:
    """drain3's template miner without persistence. ``add(line)`` returns ``(cluster id, template)``.

    ``sim_th`` and ``depth`` are Drain's similarity threshold and parse-tree depth; the defaults
    (0.4, 4) are drain3's. ``extra_delimiters`` are extra token separators. A leading client address is
    not used as the first key of the prefix tree (see ``_LEADING_ADDRESS``).
    """

    def __init__(
        self,
        sim_th: float = 0.4,
        depth: int = 4,
        extra_delimiters: tuple[str, ...] = (),
        masking: tuple[tuple[str, str], ...] | None = None,
        max_clusters: int | None = None,
    ) -> None:
        # drain3 (and jsonpickle under it) is imported here: only `signatures` needs it, not every diagnosis
        from drain3 import TemplateMiner as _DrainMiner
        from drain3.masking import MaskingInstruction
        from drain3.template_miner_config import TemplateMinerConfig

        cfg = TemplateMinerConfig()
        cfg.drain_sim_th = sim_th
        cfg.drain_depth = depth
        cfg.drain_extra_delimiters = list(extra_delimiters)
        cfg.drain_max_clusters = max_clusters
        masks = _DRAIN_MASKS if masking is None else masking
        cfg.masking_instructions = [MaskingInstruction(p, name) for p, name in masks]
        cfg.mask_prefix = "<"
        cfg.mask_suffix = ">"
        cfg.profiling_enabled = False
        cfg.snapshot_interval_minutes = 0
        self._miner: Any = _DrainMiner(persistence_handler=None, config=cfg)

    def add(self, line: str) -> tuple[int, str]:
        text = line.rstrip("\r\n") if isinstance(line, str) else str(line)
        lead = _LEADING_ADDRESS.match(text)
        if lead is not None:
            text = text[lead.end() :]
        result = self._miner.add_log_message(text[:8192])
        template = str(result["template_mined"])
        return int(result["cluster_id"]), ("<IP> " + template if lead is not None else template)

    def templates(self) -> list[tuple[int, str, int]]:
        """(id, template, size) of every cluster, as they stand now."""
        return [(c.cluster_id, c.get_template(), c.size) for c in self._miner.drain.clusters]
