"""Plain `nn.Module` building blocks, testable alone and free of Lightning: `word_embedding` (pretrained rows, word
dropout), `char_cnn` / `char_lstm` (character word encoders), `highway`, `dropout`, `masked_rnn` (padded recurrent
layers whose results do not depend on the batch), `recurrent_cells` (unrolled RNN, GRU, LSTM and its variants),
`recurrent_stack` (one direction of a language model), `onnx_recurrent` (a layer as one ONNX operator), `pooling`,
`crf` (linear-chain CRF with Viterbi), `scalar_mix` (ELMo's mix of layers)."""
