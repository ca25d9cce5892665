"""What keeps the agent's code inside its lane: the sandbox prefix for everything it runs, tamper
evidence on the repository's control files, and taking a sandboxed lane's objects into the
shared store. The lane side of :mod:`maestro.containment`."""
