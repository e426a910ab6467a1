"""Raw text to tokens: `tokenize` (UD English EWT's rule, for English models), `unicode_rule` (whitespace and Unicode
punctuation, for every other language), `rules` (which of the two a model's language gets, and the names an ONNX
export records) and `token_alignment` (scoring a tokenizer against gold UD words by character spans)."""
