"""From parsed data to batches: `arrow_cache` (parse a file once, cached by file and code), `ragged`
(variable-length rows as flat arrays), `samplers` (length buckets, a resumable loader)."""
