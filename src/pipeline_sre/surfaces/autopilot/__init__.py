"""The autopilot (`pipeline-sre watch`): polls and pushes, no LLM, every write through the app layer."""
