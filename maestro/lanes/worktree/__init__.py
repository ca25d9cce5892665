"""The lane's git worktree: where it is made and from what, whether it is whole (and healing
it), the workspace hooks around it, and what in it exists nowhere else. Every session starts
on a worktree these modules vouch for; ``confinement/`` watches what the agent does to it."""
