"""The sequence classifier: many-to-one, a label for each variable-length sequence (sentiment)."""
