"""The approval console (web) and Slack approvals. `app.console_app(runtime)` builds the Starlette app;
`settings` holds the `console:` config models (imported by `pipeline_sre.settings.config`, so keep this light)."""
