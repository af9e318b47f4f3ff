"""The HTTP edge: app factory pieces, dependencies, problem+json rendering."""
