"""The task and its competition: the metric, the baseline, the submission CSV, each task's
degradation."""
