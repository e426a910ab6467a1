"""Choose the UD tagging recipe (conf/experiment/pos_ud.yaml) on the dev splits of several treebanks with Optuna.

Each trial draws one recipe from SEARCH_SPACE (Hydra's sweep syntax, as in conf/hparams_search/) and trains it on
every treebank: one `lstmlab-train -m experiment=pos_ud data.treebank=a,b,...` multirun, two jobs at a time. Its
value is the mean dev UPOS over the treebanks (each job's `val/acc`, its best epoch's). The first trial is the
recipe as shipped (or, with `--shipped-run`, read from a multirun of it). The study is kept in `--folder`
(SQLite), so a search that is killed continues when the same command runs again, and `--trials` counts the trials
finished in all runs of it.

    LSTMLAB_DATA_DIR=/path/to/corpora python scripts/ud_recipe_search.py --folder logs/ud_recipe_search \
        --treebanks tr_imst,vi_vtb,ta_ttb,mr_ufal,fr_sequoia,ko_gsd,id_gsd,cy_ccg,wo_wtb --trials 12

Any argument after the options is a fixed override for every job. The table printed at the end (and written to
`--folder`/search.md) has one row per finished trial: its mean dev UPOS, each treebank's, and its recipe.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import optuna
import yaml

from lstmlab.sweeps.search_space import as_override, parse_search_space

SEARCH_SPACE = {
    "model.net.hidden_size": "choice(128, 200, 256, 384)",
    "model.net.num_layers": "choice(1, 2)",
    "model.net.char_encoder": "choice(cnn, lstm)",
    "model.net.char_boundaries": "choice(False, True)",  # CNN only
    "model.net.word_dim": "choice(64, 100, 200)",
    "model.net.dropout": "interval(0.2, 0.5)",
    "model.net.word_dropout": "interval(0.0, 0.3)",
    "model.net.use_crf": "choice(False, True)",
    "model.optimizer.lr": "tag(log, interval(5e-4, 5e-3))",
    "trainer.max_epochs": "choice(40, 60, 80)",  # early stopping ends a run sooner where it has converged
}
SHIPPED = {  # conf/experiment/pos_ud.yaml's values, the first trial
    "model.net.hidden_size": "200", "model.net.num_layers": "2", "model.net.char_encoder": "cnn",
    "model.net.char_boundaries": "True", "model.net.word_dim": "64", "model.net.dropout": 0.33,
    "model.net.word_dropout": 0.25, "model.net.use_crf": "False", "model.optimizer.lr": 0.002,
    "trainer.max_epochs": "60",
}


def job_results(sweep: Path) -> dict[str, dict]:
    """{treebank: its job's metrics.json} for the finished jobs of a multirun folder."""
    results = {}
    for metrics_file in sorted(sweep.glob("*/metrics.json")):
        overrides = yaml.safe_load((metrics_file.parent / ".hydra" / "overrides.yaml").read_text(encoding="utf-8"))
        treebank = next(o.split("=", 1)[1] for o in overrides if o.startswith("data.treebank="))
        results[treebank] = json.loads(metrics_file.read_text(encoding="utf-8"))
    return results


def objective(trial: optuna.Trial, args: argparse.Namespace) -> float:
    """Train the trial's recipe (drawn by `study.ask`) on every treebank; the mean of their dev UPOS."""
    recipe = [as_override(key, value) for key, value in trial.params.items()]
    sweep = args.folder / f"trial_{trial.number}"
    command = ["lstmlab-train", "-m", "experiment=pos_ud", f"data.treebank={args.treebanks}", *recipe,
               "hydra/launcher=parallel", f"hydra.sweep.dir={sweep}", *args.overrides]
    print("trial", trial.number, " ".join(command[3:]), flush=True)
    with open(args.folder / f"trial_{trial.number}.log", "w", encoding="utf-8") as log:
        subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)
    results = job_results(sweep)
    missing = sorted(set(args.treebanks.split(",")) - set(results))
    if missing:
        raise RuntimeError(f"trial {trial.number}: no result for {', '.join(missing)} (see {sweep})")
    for treebank, metrics in results.items():
        trial.set_user_attr(treebank, {key: metrics.get(key) for key in ("val/acc", "test/acc", "epochs",
                                                                          "runtime_s", "train_sentences")})
    return statistics.fmean(metrics["val/acc"] for metrics in results.values())


def shipped_trial(sweep: Path, space: dict) -> optuna.trial.FrozenTrial:
    """The shipped recipe as a finished trial, from a `lstmlab-train -m experiment=pos_ud data.treebank=...`
    multirun of it (no recipe overrides)."""
    results = job_results(sweep)
    attrs = {treebank: {key: metrics.get(key) for key in ("val/acc", "test/acc", "epochs", "runtime_s",
                                                          "train_sentences")} for treebank, metrics in results.items()}
    return optuna.trial.create_trial(params=SHIPPED, distributions=space, user_attrs=attrs,
                                     value=statistics.fmean(metrics["val/acc"] for metrics in results.values()))


def table(study: optuna.Study, treebanks: list[str]) -> str:
    """Markdown: one row per finished trial, best first."""
    done = sorted((t for t in study.trials if t.value is not None), key=lambda t: -t.value)
    lines = ["| trial | mean dev | " + " | ".join(treebanks) + " | recipe |",
             "|---:|---:|" + "---:|" * len(treebanks) + "---|"]
    for t in done:
        scores = " | ".join(f"{100 * t.user_attrs[tb]['val/acc']:.2f}" for tb in treebanks)
        recipe = " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in t.params.items())
        lines.append(f"| {t.number} | {100 * t.value:.2f} | {scores} | `{recipe}` |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, required=True, help="the study's folder (created; resumed)")
    parser.add_argument("--treebanks", required=True, help="comma-separated treebank names or folders")
    parser.add_argument("--trials", type=int, default=12, help="finished trials to reach, over all runs")
    parser.add_argument("--seed", type=int, default=0, help="the sampler's seed")
    parser.add_argument("--shipped-run", type=Path, help="a multirun of the shipped recipe over the same treebanks, "
                                                         "taken as trial 0 instead of training it again")
    parser.add_argument("overrides", nargs="*", help="fixed overrides for every job (trainer.max_epochs=25, ...)")
    args = parser.parse_args()
    args.folder = args.folder.resolve()
    args.folder.mkdir(parents=True, exist_ok=True)
    space = parse_search_space(SEARCH_SPACE)
    study = optuna.create_study(study_name="ud_recipe", storage=f"sqlite:///{args.folder / 'study.db'}",
                                direction="maximize", load_if_exists=True)
    # seeded by the trials so far: a continued search draws new recipes, not the first run's again
    study.sampler = optuna.samplers.TPESampler(seed=args.seed + len(study.trials))
    if not study.trials and args.shipped_run:  # the shipped recipe's multirun, already trained: trial 0 from it
        study.add_trial(shipped_trial(args.shipped_run, space))
    elif not study.trials:
        study.enqueue_trial(SHIPPED)
    for stopped in study.get_trials(states=(optuna.trial.TrialState.RUNNING,)):  # its search was killed
        study.tell(stopped.number, state=optuna.trial.TrialState.FAIL)
    finished = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    for _ in range(finished, args.trials):
        trial = study.ask(space)
        try:
            study.tell(trial, objective(trial, args))
        except RuntimeError as error:
            print(error, flush=True)
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
    text = table(study, args.treebanks.split(","))
    (args.folder / "search.md").write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    sys.exit(main())
