"""One cell of the grid: planning it before torch is imported, its three phases, keys and reuse, and the results record."""
