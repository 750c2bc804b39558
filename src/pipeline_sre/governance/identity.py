"""Who is behind a request: one identity per person, whatever surface they used.

An actor is recorded as `kind:name` (`cli:alice`, `mcp:alice`, `web:alice`, `slack:alice`, `system:autopilot`).
The name is always the person (the CLI's authenticated or OS user, the MCP server's configured owner, the
console session's user, the Slack user's mapped approver name), never a client's self-declared label, so
the four-eyes rule compares people: `alice` asking through MCP and approving in the console is one person.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Literal

ActorKind = Literal["mcp", "cli", "web", "slack", "system", "github"]
KINDS: tuple[ActorKind, ...] = ("mcp", "cli", "web", "slack", "system", "github")
SYSTEM = "system"
_KIND_OF: dict[str, ActorKind] = {k: k for k in KINDS}


@dataclass(frozen=True, slots=True)
class Principal:
    kind: ActorKind
    name: str

    @property
    def actor(self) -> str:
        """How the audit log and the action's `requested_by` name this principal."""
        return f"{self.kind}:{self.name}"

    @property
    def is_person(self) -> bool:
        return self.kind != SYSTEM

    @classmethod
    def parse(cls, actor: str) -> Principal:
        """`kind:name` as stored; a bare name (older records, approvers) is a person of unknown surface."""
        kind, sep, name = actor.partition(":")
        known = _KIND_OF.get(kind)
        if sep and known is not None:
            return cls(known, name)
        return cls("cli", actor)


AUTOPILOT = Principal("system", "autopilot")


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def same_person(a: str, b: str) -> bool:
    """True when two recorded actors (either `kind:name` or a bare name) are the same human."""
    pa, pb = Principal.parse(a), Principal.parse(b)
    if not pa.is_person or not pb.is_person:
        return False
    return pa.name.casefold() == pb.name.casefold()
