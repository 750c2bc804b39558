"""The approval console: `app.console_app(runtime)` builds the Starlette app (sign-in, incidents, actions)."""
