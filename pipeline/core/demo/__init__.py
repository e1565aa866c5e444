"""Demo data: magazine-like pages composed from images that ship inside installed packages."""
