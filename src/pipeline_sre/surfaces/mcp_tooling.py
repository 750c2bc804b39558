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
from mcp.types import CallToolResult, TextContent, Tool, ToolAnnotations

from pipeline_sre.app.operating_metrics import record_tool_call
from pipeline_sre.errors import PipelineSreError
from pipeline_sre.governance.identity import Principal, os_user
from pipeline_sre.lifecycle.compact import clip, dumps
from pipeline_sre.lifecycle.runtime import Runtime

log = logging.getLogger("pipeline_sre.mcp")


ToolFn = Callable[..., Awaitable[dict[str, Any]]]


READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)


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
                return dumps(await fn(*args, **kwargs))
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
    """MCPServer whose tools/list carries compact input schemas (validation still uses the full ones)."""

    async def list_tools(self) -> list[Tool]:
        return [
            t.model_copy(update={"input_schema": compact_schema(t.input_schema)}) for t in await super().list_tools()
        ]
