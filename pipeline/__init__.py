"""Paired image-restoration pipeline: demo data, prepare, train, infer, export, score."""
