"""Lightning callbacks the configs switch on (conf/callbacks/), each working from what any task logs:
`divergence_stop` (stop before a non-finite value reaches the weights), `lr_shrink` (InferSent's SGD schedule),
`metrics_plot` (the run's metrics as PNG), `optuna_pruning` (report to an Optuna study, prune a poor trial),
`progress_log` (log lines with an ETA where no terminal shows the bar), `resume_checkpoint` (last.ckpt kept
current within an epoch), `throughput` (tokens per second, padding), `weight_average` (an EMA of the weights)."""
