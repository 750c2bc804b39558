"""The one governed path for every write: actions, policy, approvals, audit, execution.

Import from the submodules (`governance.service`, `governance.policy`, ...); this package stays light so
that `pipeline_sre.settings.config` can import `governance.settings` without cycles.
"""
