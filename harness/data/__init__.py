"""Task data: the sources (bundled, local files, the hub), the readers of shared formats, the featurised-data cache, and checks against the published datasets."""
