"""Training data: folder layouts and pairing, the prepared patch store, folds, samples and
augmentation."""
