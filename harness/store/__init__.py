"""The run store: content-addressed phase folders, their manifests and locks, and `xharness verify`."""
