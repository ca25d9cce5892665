"""One agent attempt, per transport (app-server, Claude Code, ACP), and the lane side of the
tool bridge. Sessions are driven by the phases at the ``lanes/`` root; they stand on the
worktree, confinement, validation and push groups and report spend to ``budgets/``."""
