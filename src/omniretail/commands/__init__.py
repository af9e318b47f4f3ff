"""``omniretail``: the command-line root (an edge: it builds the composition root)."""
