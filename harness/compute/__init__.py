"""Numerical building blocks shared by kinds, training and analysis: metrics, per-example outcome records, batching, the fast path's packing."""
