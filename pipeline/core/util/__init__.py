"""Plumbing every floor stands on: errors, atomic files, image I/O, progress, Ctrl-C, resizing,
processes."""
