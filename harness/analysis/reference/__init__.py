"""Published reference tables for ``xharness report --compare`` (JSON in the report's own shape)."""
