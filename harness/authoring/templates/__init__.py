"""The files of the plugin package ``xharness new-plugin`` writes, as templates (``*.tmpl``) read by
``harness.authoring.scaffold``: Python, TOML and Markdown with ``__NAME__`` placeholders."""
