"""What is about neither NLP nor a task: `cpu` (this CPU's model and bf16 support), `torch_threads` (each job's
share of the cores), `malloc_tuning` and `onednn_cache` (memory settings for CPU training), `atomic_file` and
`atomic_checkpoint_io` (files that appear whole or not at all), `rng_state` (every random generator's state, per
rank, for exact resumption), `ddp` (gather from ranks; a DDP strategy that tears down cleanly), `slurm` (requeued
jobs resume in their folder), `resumable_csv_logger`, `figure_file` and `line_plot` (PNG figures), `arrays`
(either back end's results as numpy)."""
