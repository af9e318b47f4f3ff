"""Shared vocabulary without I/O: errors, clock, ids, event envelope."""
