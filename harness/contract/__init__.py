"""The plugin contract: what plugins register (specs), the hooks they implement, the errors users see, and discovery of plugins through entry points."""
