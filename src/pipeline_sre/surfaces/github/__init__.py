"""GitHub review approvals: the signed `pull_request_review` webhook the console mounts."""
