"""What may leave the machine: a branch that carries a change, made by the lane's own sessions
(provenance), checked by the PR tool, and pushed without dropping commits someone else put
on the remote branch. Stands on ``validation/`` and ``confinement/``."""
