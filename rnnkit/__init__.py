"""rnnkit: recurrent neural networks with every gradient visible and checked."""

__version__ = "0.1.0"
