"""DRAW (Gregor et al. 2015): a variational auto-encoder whose encoder and decoder are LSTMs that
read an image and write to a canvas over T steps, optionally through Gaussian attention windows."""
