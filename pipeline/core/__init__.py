"""The shared core that every stage of the pipeline builds on."""
