"""lstmlab's Hydra configs. The wheel installs this folder as the package `lstmlab.conf`, which `lstmlab-train` and
`lstmlab-eval` read through Hydra's `pkg://` search path; a user's own config folder goes first with --config-dir."""
