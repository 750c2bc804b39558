"""The MCP server: its tools, prompts and resources, and the stdio and streamable-HTTP transports."""
