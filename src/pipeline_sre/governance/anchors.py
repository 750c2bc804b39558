"""Audit anchors: the chain's head (sequence number + hash) written, from time to time, to a file outside
the store, each line signed with a key that is not in the store (HMAC-SHA256).

The hash chain alone proves the log is consistent with itself; whoever can write the database can rewrite
it consistently (edit a record and rehash the rest, cut the tail and fix the head, wipe it). An anchor
outside the database pins what the log held at that time: `audit verify` then finds any rewrite of the
anchored history, and with the key a forged anchor line does not verify either.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipeline_sre.errors import InvalidInput
from pipeline_sre.governance.audit import Checkpoint


@dataclass(frozen=True, slots=True)
class Anchor:
    checkpoint: Checkpoint
    at: str
    signed: bool
    valid: bool  # the signature checks out (always True when no key is configured)


def _mac(key: bytes, seq: int, digest: str, at: str) -> str:
    return hmac.new(key, f"{seq}:{digest}:{at}".encode(), hashlib.sha256).hexdigest()


class AnchorLog:
    def __init__(self, path: Path, key: bytes | None) -> None:
        self.path = path
        self.key = key

    def append(self, head: Checkpoint, now: datetime | None = None) -> Anchor:
        """Append one line (the file is only ever opened for appending, owner-only)."""
        at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
        line: dict[str, object] = {"seq": head.seq, "hash": head.hash, "at": at}
        if self.key:
            line["mac"] = _mac(self.key, head.seq, head.hash, at)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (json.dumps(line, separators=(",", ":")) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        return Anchor(head, at, bool(self.key), True)

    def read(self) -> list[Anchor]:
        """Every anchor in the file, oldest first; a line that is not an anchor reads as an invalid one."""
        if not self.path.is_file():
            return []
        anchors: list[Anchor] = []
        for raw in self.path.read_text(encoding="utf-8").splitlines():
            try:
                data = json.loads(raw)
                checkpoint = Checkpoint.parse(data)
                at = str(data["at"])
            except (ValueError, KeyError, TypeError, InvalidInput):  # a line that is not an anchor
                anchors.append(Anchor(Checkpoint(0, "0" * 64), "?", False, False))
                continue
            mac = data.get("mac")
            valid = True
            if self.key is not None:
                valid = isinstance(mac, str) and hmac.compare_digest(
                    mac, _mac(self.key, checkpoint.seq, checkpoint.hash, at)
                )
            anchors.append(Anchor(checkpoint, at, isinstance(mac, str), valid))
        return anchors

    def last_at(self) -> datetime | None:
        anchors = [a for a in self.read() if a.valid]
        return datetime.fromisoformat(anchors[-1].at) if anchors else None
