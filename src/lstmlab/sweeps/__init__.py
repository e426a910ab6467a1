"""Hyperparameter searches and their reports: `search_space` (Hydra's sweep syntax as an Optuna search space),
`study_folder` (an Optuna study kept in the sweep folder that a killed sweep continues), `sweep_folder` (a multirun
folder read back), `report_table`, `report_figure` and `metric_by_key` (what `lstmlab-sweep-report` shows),
`sweep_end` (the lines a multirun ends with)."""
