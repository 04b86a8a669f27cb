"""The frame tagger: many-to-many, a label at every step of a clip or sensor stream."""
