"""The `pipeline-sre` command line. `entry.main` is the entry point (a fast path for `--help` and the offline
log commands, else `app.main`, the typer app); subcommand groups load on first use."""
