"""Scores and the answers to beat: evaluation of restored images, the baseline ladder, blends,
finishing; the submission CSV of the test images, their score, and sending it to Kaggle."""
