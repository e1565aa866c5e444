"""Scores and the answers to beat: evaluation of restored images, the baseline ladder, blends,
finishing."""
