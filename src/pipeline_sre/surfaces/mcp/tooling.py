"""What every MCP tool module shares: who the callers act for, the tool annotations, and the registrar
that turns a tool's answer into compact JSON and any error into a typed one (never a stack trace)."""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult, TextContent, Tool, ToolAnnotations
from pydantic import ValidationError

from pipeline_sre.app.operating_metrics import record_tool_call
from pipeline_sre.diagnosis.fence import strip_control
from pipeline_sre.errors import PipelineSreError
from pipeline_sre.governance.identity import Principal, os_user
from pipeline_sre.lifecycle.compact import clip, dumps, scrub
from pipeline_sre.lifecycle.runtime import Runtime

log = logging.getLogger("pipeline_sre.mcp")


ToolFn = Callable[..., Awaitable[dict[str, Any]]]


# The destructive and idempotent hints only mean something when a tool is not read-only (MCP spec).
READ = ToolAnnotations(read_only_hint=True, open_world_hint=True)


RECORD = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)


WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)


def _error(body: dict[str, Any]) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=dumps(body))], is_error=True)


def client_name(ctx: Context | None) -> str:
    """The MCP client's self-declared name: recorded with each audited call, never trusted as an identity."""
    name = "unknown"
    try:
        params = ctx.session.client_params if ctx is not None else None
        if params is not None and params.client_info.name:
            name = params.client_info.name
    except (AttributeError, ValueError):
        pass
    return clip(name, 60) or "unknown"


def principal_of(rt: Runtime) -> Principal:
    """Who MCP callers act for: the server's configured owner (server.owner), else the OS user running it."""
    return Principal("mcp", rt.settings.server.owner or os_user())


class ToolRegistrar:
    def __init__(self, server: MCPServer, runtime: Runtime) -> None:
        self.server = server
        self.rt = runtime

    def __call__(
        self,
        title: str,
        description: str,
        annotations: ToolAnnotations,
        *,
        name: str | None = None,
        audited: bool = False,
    ) -> Callable[[ToolFn], ToolFn]:
        def register(fn: ToolFn) -> ToolFn:
            tool_name = name or fn.__name__
            wrapped = self._guard(tool_name, fn, audited)
            self.server.add_tool(
                wrapped,
                name=tool_name,
                title=title,
                description=description,
                annotations=annotations,
                # A write runs only once a human approved it: said in the tool's metadata for clients.
                meta={"pipeline-sre/requires_approval": True} if annotations is WRITE else None,
                structured_output=False,
            )
            return fn

        return register

    def _guard(self, tool: str, fn: ToolFn, audited: bool) -> Callable[..., Awaitable[str | CallToolResult]]:
        """Results and typed errors are compact JSON; anything unexpected is an opaque reference."""

        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> str | CallToolResult:
            outcome = "ok"
            try:
                return dumps(self._final(await fn(*args, **kwargs)))
            except PipelineSreError as err:
                outcome = err.code
                return _error(err.to_dict())
            except Exception:
                outcome = "internal_error"
                ref = uuid.uuid4().hex[:12]
                log.exception("internal error ref=%s in %s", ref, tool)
                return _error({"error": "internal_error", "message": f"internal error, ref {ref}"})
            finally:
                record_tool_call(tool, outcome)
                if audited:
                    await self._audit(tool, kwargs, outcome)

        return wrapper

    def _final(self, result: dict[str, Any]) -> dict[str, Any]:
        """The last pass over every answer: each string redacted once more and stripped of control and
        invisible characters, and the fields holding text from backends, logs or people named under
        `untrusted` (data to read, never instructions), as the fenced excerpts already are."""
        found: set[str] = set()
        out: dict[str, Any] = scrub(result, self._clean, "", found)
        if found:
            out["untrusted"] = sorted(found)
        return out

    def _clean(self, text: str) -> str:
        return strip_control(self.rt.redact(text))

    async def audit_invalid(self, tool: str, refusal: dict[str, str]) -> None:
        """Arguments that failed validation are recorded too (what was wrong, not the values)."""
        try:
            await asyncio.to_thread(
                self.rt.governance.audit.tool_call,
                tool,
                principal_of(self.rt).actor,
                arguments={"problem": refusal["message"]},
                result="invalid_input",
            )
        except Exception:
            log.exception("could not audit the invalid call of %s", tool)

    async def _audit(self, tool: str, kwargs: dict[str, Any], outcome: str) -> None:
        arguments = {k: clip(self.rt.redact(str(v)), 200) for k, v in kwargs.items() if k != "ctx" and v is not None}
        arguments["mcp_client"] = self.rt.redact(client_name(kwargs.get("ctx")))
        actor = principal_of(self.rt).actor
        try:
            await asyncio.to_thread(
                self.rt.governance.audit.tool_call, tool, actor, arguments=arguments, result=outcome
            )
        except Exception:
            log.exception("could not audit the call of %s", tool)


def invalid_arguments(tool: str, err: ValidationError) -> dict[str, str]:
    """Which arguments were wrong and what is allowed, capped, without the values given (a 1 MB input
    is not sent back, nor a secret pasted by mistake)."""
    problems = [f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in err.errors()[:5]]
    message = f"{tool}: " + "; ".join(problems)
    return {"error": "invalid_input", "message": message[:500]}


def compact_schema(schema: Any) -> Any:
    """The same JSON Schema in fewer bytes: without the `title` pydantic adds to every object and property
    (it repeats the name, and costs an agent's context on every tools/list), and with an `anyOf` of plain
    types written as a list of types. Property names (even one called "title") stay."""
    if isinstance(schema, list):
        return [compact_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title":
            continue
        if key in ("properties", "$defs") and isinstance(value, dict):
            out[key] = {name: compact_schema(sub) for name, sub in value.items()}
        else:
            out[key] = compact_schema(value)
    simple = out.get("anyOf")
    if isinstance(simple, list) and all(isinstance(s, dict) and set(s) == {"type"} for s in simple):
        out["type"] = [s["type"] for s in simple]  # {"anyOf": [{"type": "string"}, {"type": "null"}]}, said shorter
        del out["anyOf"]
    return out


class LeanServer(MCPServer):
    """MCPServer whose tools/list carries compact input schemas (validation still uses the full ones), and
    whose argument errors are typed, short and never echo the input."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as err:
            if not isinstance(err.__cause__, ValidationError):
                raise
            refusal = invalid_arguments(name, err.__cause__)
            if self.audit_invalid is not None:
                await self.audit_invalid(name, refusal)
            raise ToolError(dumps(refusal)) from None

    audit_invalid: Callable[[str, dict[str, str]], Awaitable[None]] | None = None

    async def list_tools(self) -> list[Tool]:
        return [
            t.model_copy(update={"input_schema": compact_schema(t.input_schema)}) for t in await super().list_tools()
        ]
