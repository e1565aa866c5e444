"""runs/<experiment>/: every file an experiment writes, the locks on its folds, the local
leaderboard beside it, and its record in Weights & Biases."""
