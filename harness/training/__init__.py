"""The training loop, its checkpoints for exact resume, and loading a backbone."""
