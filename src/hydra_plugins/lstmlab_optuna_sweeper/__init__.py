"""lstmlab's Optuna sweeper for Hydra (`hydra/sweeper=optuna`), on current Optuna. Hydra finds it through the
`hydra_plugins` namespace package and imports every module here at each start, so these modules import only Hydra;
Optuna is imported when a sweep begins (`_sweep.py`, which Hydra's scan skips)."""
