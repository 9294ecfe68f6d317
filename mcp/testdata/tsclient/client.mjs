// Drives `cordon mcp` over stdio with the official TypeScript MCP SDK
// client and prints what came back as one JSON object on stdout.
//
// usage: node client.mjs CORDON WORKSPACE MASKED_PATH
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [cordon, workspace, masked] = process.argv.slice(2);
if (!cordon || !workspace || !masked) {
  console.error("usage: node client.mjs CORDON WORKSPACE MASKED_PATH");
  process.exit(2);
}

const transport = new StdioClientTransport({
  command: cordon,
  args: ["mcp", "--workspace", workspace, "--no-audit"],
  env: process.env,
  stderr: "inherit",
});
const client = new Client({ name: "ts-sdk-client", version: "1.0.0" });
await client.connect(transport);

const pick = (r) => ({ isError: r.isError ?? false, structured: r.structuredContent, text: r.content?.map((c) => c.text).join("") });

const { tools } = await client.listTools();
const out = {
  tools: tools.map((t) => ({ name: t.name, annotations: t.annotations })),
  allowed: pick(await client.callTool({ name: "run_command", arguments: { command: "echo hello from ts" } })),
  denied: pick(await client.callTool({ name: "run_command", arguments: { command: "rm -rf /" } })),
  masked: pick(await client.callTool({ name: "read_file", arguments: { path: masked } })),
};
console.log(JSON.stringify(out));
await client.close();
