"""After review: the classifier's verdict on the PR's signals, the feedback a repair round is
about, and what a lane remembers between rounds. ``review.py`` at the ``lanes/`` root drives
the rounds; ``sessions/`` runs them."""
