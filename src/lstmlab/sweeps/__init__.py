"""Hyperparameter searches: Hydra's sweep syntax as an Optuna search space, and an Optuna study kept in the sweep
folder that a killed sweep continues."""
