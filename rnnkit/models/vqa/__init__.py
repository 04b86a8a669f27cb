"""Visual question answering (one-to-one with attention): a conv encoder's grid, an LSTM's question
vector, stacked attention hops over the grid, and a classifier over the answers."""
