"""The audio engine (Art2Music, Hong et al. 2025): fusion of image and comment embeddings, mel decoders, loss.

Gated residual fusion (:mod:`.fusion`), the paper's BiLSTM decoder (:mod:`.decoders.bilstm`), the conditional flow-matching
decoder (:mod:`.decoders.flow`, its network in :mod:`.decoders.flow_network`), the frequency-weighted L1 loss (:mod:`.loss`), and the stage-1 network that joins them (:mod:`.stage1`)."""
