"""runs/<experiment>/: every file an experiment writes, and its record in Weights & Biases."""
