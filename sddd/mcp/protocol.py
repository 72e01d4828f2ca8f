"""sddd's tools and resources in the SDK's terms: the request handlers of its low-level ``Server``.

Kept apart from ``server.py`` so that the SDK's types (slow to import: pydantic models of two
protocol revisions) are imported once the worker thread is already loading the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp.shared.exceptions import MCPError

from sddd.core.errors import SdddError
from sddd.core.secrets import redact
from sddd.mcp.resources import DOC_TEMPLATE, PROFILE_TEMPLATE

if TYPE_CHECKING:
    from sddd.mcp.server import Service


def _tool(spec: Any) -> types.Tool:
    hints = types.ToolAnnotations(title=spec.title, read_only_hint=not spec.writes,
                                  destructive_hint=spec.writes, idempotent_hint=not spec.writes,
                                  open_world_hint=False)
    return types.Tool(name=spec.name, title=spec.title, description=spec.description,
                      input_schema=spec.input_schema(), output_schema=spec.output, annotations=hints)


def handlers(service: Service) -> dict[str, Any]:
    """The ``on_*`` keyword arguments of ``mcp.server.lowlevel.Server``."""
    from sddd.mcp.server import error_text, log

    tools = [_tool(spec) for spec in service.tools.values()]

    async def _resource_call(work: Any, code: int, *args: Any) -> Any:
        """Resources answer errors as JSON-RPC errors (they have no isError): one line each."""
        try:
            return await service.on_worker(work, *args)
        except SdddError as exc:
            raise MCPError(code=code, message=redact(error_text(exc))) from None
        except Exception as exc:
            log.exception("resource request failed")
            raise MCPError(code=types.INTERNAL_ERROR, message=f"internal error: {type(exc).__name__}: "
                           f"{redact(str(exc))} (a bug in sddd; the traceback is on the server's "
                           "stderr)") from None

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        if params.name in service.withheld:
            text = await service.on_worker(service.withhold, params.name, params.arguments)
            return types.CallToolResult(is_error=True, content=[types.TextContent(type="text", text=text)])
        if params.name not in service.tools:
            raise MCPError(code=types.INVALID_PARAMS,
                           message=f"unknown tool {params.name!r}; sddd has {', '.join(service.tools)}")
        answer, error = await service.on_worker(service.call, params.name, params.arguments)
        if answer is None:
            return types.CallToolResult(content=[types.TextContent(type="text", text=error or "")],
                                        is_error=True)
        return types.CallToolResult(content=[types.TextContent(type="text", text=answer.text)],
                                    structured_content=answer.data)

    async def list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
        found = await _resource_call(service.listings, types.INTERNAL_ERROR)
        return types.ListResourcesResult(resources=[
            types.Resource(uri=r.uri, name=r.name, title=r.title, description=r.description,
                           mime_type=r.mime_type) for r in found])

    async def list_templates(ctx: Any, params: Any) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(resource_templates=[
            types.ResourceTemplate(uri_template=DOC_TEMPLATE, name="document", title="A document",
                                   description="An indexed guide, report or compose file, by its path "
                                   "from the repository root; #anchor reads one section of a guide.",
                                   mime_type="text/markdown"),
            types.ResourceTemplate(uri_template=PROFILE_TEMPLATE, name="profile", title="A profile",
                                   description="A compose profile resolved as Docker Compose does, "
                                   "with where each vLLM flag is explained (JSON).",
                                   mime_type="application/json")])

    async def read_resource(ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        text, mime = await _resource_call(service.read, types.INVALID_PARAMS, str(params.uri))
        return types.ReadResourceResult(contents=[
            types.TextResourceContents(uri=str(params.uri), text=text, mime_type=mime)])

    return {"on_list_tools": list_tools, "on_call_tool": call_tool, "on_list_resources": list_resources,
            "on_list_resource_templates": list_templates, "on_read_resource": read_resource}
