"""YAML for the rule files, loaded the fast way.

PyYAML is imported on first use, so commands that read no rule file (``signatures``) do not pay for it,
and libyaml's loader is used when PyYAML was built with it: the built-in rules parse in ~7 ms instead of
~55 ms with the pure-Python loader, which is most of a small ``diagnose``'s start-up otherwise.
"""

from __future__ import annotations

from typing import Any


def safe_load(doc: str) -> Any:
    """``yaml.safe_load``, through libyaml when available (same results for the safe subset)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(doc, Loader=loader)
