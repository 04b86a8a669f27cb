"""Image captioning (one-to-many): a conv encoder's image feature sets an LSTM's initial hidden
state, and the LSTM writes the caption word by word (CS231n's captioning graph)."""
