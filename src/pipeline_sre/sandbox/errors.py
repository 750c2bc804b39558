"""The one error kind the sandbox raises; surfaces print its message, never a traceback."""

from __future__ import annotations

from pipeline_sre.errors import PipelineSreError


class SandboxError(PipelineSreError):
    code = "sandbox_error"
