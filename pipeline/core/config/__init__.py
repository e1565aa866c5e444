"""The configuration: its schema, loading with overrides and validation, diffs, and the stages'
command line."""
