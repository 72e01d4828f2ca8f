// The second, independent MCP client of the tests: the official TypeScript SDK
// (@modelcontextprotocol/sdk from npm), run with node. It connects to `sddd mcp` over stdio
// or streamable HTTP, does what a plan says and prints what it got as one JSON document on
// stdout; tests/mcp/test_node_client.py compares that with the CLI's --json.
//
//   node client.mjs PLAN.json
//
// PLAN: {"stdio": {"command": ..., "args": [...], "cwd": ..., "env": {...}}} or {"url": "http://..."},
//       "calls": [{"tool": "search", "arguments": {...}}], "reads": ["sddd://docs/..."]
import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport, getDefaultEnvironment } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js";

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));

function transport() {
  if (plan.url) {
    return new StreamableHTTPClientTransport(new URL(plan.url));
  }
  const { command, args, cwd, env } = plan.stdio;
  return new StdioClientTransport({
    command, args, cwd, env: { ...getDefaultEnvironment(), ...(env ?? {}) }, stderr: "inherit",
  });
}

async function attempt(work) {
  try {
    return await work();
  } catch (error) {
    return { protocolError: String(error?.message ?? error) };
  }
}

const client = new Client({ name: "sddd-tests-node", version: "1.0.0" });
await client.connect(transport());
const out = {
  protocolVersion: LATEST_PROTOCOL_VERSION,  // what this SDK's initialize handshake asks for
  server: client.getServerVersion(),
  tools: (await client.listTools()).tools,
  resources: (await client.listResources()).resources,
  templates: (await client.listResourceTemplates()).resourceTemplates,
  calls: [],
  reads: [],
};
for (const call of plan.calls ?? []) {
  out.calls.push(await attempt(async () => {
    const result = await client.callTool({ name: call.tool, arguments: call.arguments ?? {} });
    return {
      isError: result.isError ?? false,
      text: result.content.map((block) => block.text ?? "").join("\n"),
      structuredContent: result.structuredContent ?? null,
    };
  }));
}
for (const uri of plan.reads ?? []) {
  out.reads.push(await attempt(async () => {
    const result = await client.readResource({ uri });
    return { contents: result.contents };
  }));
}
await client.close();
process.stdout.write(JSON.stringify(out) + "\n");
