"""Small helpers every layer uses: environment flags, file-system safety, progress bars, stop signals."""
