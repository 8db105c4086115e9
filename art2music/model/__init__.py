"""Stage-1 model: OpenCLIP encoder, gated residual fusion, BiLSTM mel decoder, frequency-weighted L1."""
