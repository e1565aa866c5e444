"""The procedure a competition folder gets by default: the cheap answers, a few candidates that
fail differently, and the choice between them (or a blend) by nested cross-validation, never
below the best cheap answer on its own evidence. The top floor: it uses training, inference
and scoring."""
