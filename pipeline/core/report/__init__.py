"""What an experiment leaves once scored: its plots and its W&B summary run."""
