"""Training data: folder layouts and pairing, preparing the patch store, folds, samples and
augmentation."""
