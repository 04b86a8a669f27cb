"""The character-level language model: many-to-many over a stream of characters."""
