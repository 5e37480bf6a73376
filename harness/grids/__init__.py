"""Many cells: sweeps over grids (local workers, Slurm) and research studies built on them."""
