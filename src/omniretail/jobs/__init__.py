"""Durable background jobs: a table of requested work that workers claim with a lease."""
