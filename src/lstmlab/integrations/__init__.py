"""lstmlab inside other libraries' APIs: `sentence_transformers` (an lstmlab sentence encoder as a
sentence-transformers module). Each module here needs its library's extra (`pip install lstmlab[st]`)."""
