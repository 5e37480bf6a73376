"""Writing plugins: `xharness new-plugin` and the templates it fills."""
