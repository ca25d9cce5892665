"""What a person sees and does: the status snapshot, its views and the HTTP surface."""
