"""The sequence-to-sequence model: an encoder reads a source sentence, a decoder with attention writes
its translation one token at a time (many-to-one followed by one-to-many)."""
