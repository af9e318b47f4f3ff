"""The command line: a Typer root that each domain adds its commands to."""
