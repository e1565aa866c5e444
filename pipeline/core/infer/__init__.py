"""Restoring images with trained models: tiles, TTA views, the fold ensemble, out-of-fold
predictions, and an experiment's whole inference run (`infer`)."""
