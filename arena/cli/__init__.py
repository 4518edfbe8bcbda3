"""The `arena` command: a thin shell over the core, sharing it with the TUI."""
