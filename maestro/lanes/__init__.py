"""A lane: one issue's worktree, branch and state folder, driven phase by phase."""
