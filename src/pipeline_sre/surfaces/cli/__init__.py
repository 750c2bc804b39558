"""The `pipeline-sre` command line. `app.main` is the entry point; subcommand groups load on first use."""
