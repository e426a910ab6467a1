"""Raw text to tokens: `tokenize` (the EWT rule of lstmlab-tag) and `token_alignment` (scoring a
tokenizer against gold UD words by character spans)."""
