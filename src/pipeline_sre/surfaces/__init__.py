"""Surfaces: parse a request, call `pipeline_sre.app`, render the answer. One package per surface (mcp,
cli, web console, slack, autopilot) and `http` for what the served ones share."""
