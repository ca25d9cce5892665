"""The workflow's validation commands on the lane HEAD: the runner, the gate that runs them once
per content, and the clean-up of what they leave in the worktree. ``push/`` asks the gate
before anything leaves the machine."""
