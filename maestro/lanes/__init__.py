"""A lane: one issue's worktree, branch and state folder, driven phase by phase.

The root holds the phase entry points (``phases``, ``review``, ``noop``, ``admission``,
``preflight``, ``cancel``) and what every group shares (``context``, ``outcomes``,
``failures``, ``guard``). The groups below them: ``sessions/`` (one agent attempt),
``worktree/``, ``confinement/``, ``validation/``, ``push/``, ``repair/``, ``budgets/`` and
``record/`` (the lane folder and how it is read back).
"""
