"""The application layer: the operations every surface calls, and the autopilot's cycle built on them."""
