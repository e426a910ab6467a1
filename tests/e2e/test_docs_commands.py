"""Documentation is executable (issue 26): every shell command and Python block of README.md and docs/*.md runs as
written, in order, in one fresh walk-through folder, with nothing added but smoke limits and the offline flags; the
rules (what is composed or skipped and why, placeholders, limits) are in tests/docs_commands.py. The steps that
train or read a run are slow (`make test-full`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from docs_commands import (
    LANGUAGES,
    LIMITS,
    Plan,
    Shell,
    Walk,
    documented_blocks,
    documented_steps,
    slow_steps,
    static_plan,
)

STEPS = documented_steps()
CORPORA = Path(os.environ["LSTMLAB_DATA_DIR"]) if os.environ.get("LSTMLAB_DATA_DIR") else None


@pytest.fixture(scope="module")
def walk(tmp_path_factory) -> Walk:
    return Walk.start(tmp_path_factory.mktemp("walk") / "lstmlab")


def test_every_block_has_a_rule():
    """A block in a language with no rule (```console, ```shell, ...) would be neither run nor skipped: it fails
    here instead, until docs_commands.LANGUAGES says how to read it."""
    unknown = [f"{block.doc}:{block.line - 1} ```{block.language}" for block in documented_blocks()
               if block.language not in LANGUAGES]
    assert not unknown, f"fenced blocks with no rule in tests/docs_commands.py: {unknown}"


def test_every_step_is_run_or_skipped_with_a_reason():
    """Each command and Python block found is run, composed or skipped, and whatever is not run as written says
    why; the counts are the measure the issue asks for."""
    plans = {step.id: static_plan(step, CORPORA) for step in STEPS}
    assert all(plan.action in ("run", "compose", "skip") for plan in plans.values())
    assert all(plan.reason for plan in plans.values() if plan.action != "run"), plans
    shell = [step for step in STEPS if step.language == "shell"]
    python = [step for step in STEPS if step.language == "python"]
    assert len(shell) > 70 and len(python) >= 7, (len(shell), len(python))


def test_commands_are_read_as_a_shell_reads_them():
    """Comments, continuations, redirections, environment prefixes and synopsis brackets, on the docs' own lines."""
    by_id = {step.id: step for step in STEPS}
    tag = Shell.parse(next(step for step in STEPS if step.text.startswith("lstmlab-tag --model logs/pos_ewt/runs/<ts> "
                                                                           "< raw.txt")).tokens)
    assert (tag.stdin, tag.stdout, tag.outputs) == ("raw.txt", "tagged.conllu", ["tagged.conllu"])
    continued = next(step for step in STEPS if "data.sentence_level" not in step.text and "brown.txt" in step.text)
    assert continued.tokens[-1] == "data.test_path=test.txt" and "\\" not in continued.text
    corpora = next(step for step in by_id.values() if step.text.startswith("LSTMLAB_DATA_DIR="))
    assert Shell.parse(corpora.tokens).env == {"LSTMLAB_DATA_DIR": "/path/to/corpora"}
    push = next(step for step in STEPS if "[--private]" in step.text)
    assert Shell.parse(push.tokens).argv[-2:] == ["--repo", "org/pos-ewt"]


def test_smoke_limits_are_added_by_rule(tmp_path):
    """Training gets the limits, a make target through ARGS, an Optuna search two trials, a push --dry-run."""
    walk = Walk(tmp_path, None)

    def command(text: str) -> list[str]:
        return walk.command(Shell.parse(text.split()), Plan("run"))

    assert command("lstmlab-train experiment=pos_ewt")[-len(LIMITS):] == LIMITS
    assert command("make train-nli")[-1] == "ARGS=" + " ".join(LIMITS)
    assert command("make embed") == ["make", "embed"]
    optuna = command("lstmlab-train -m hparams_search=pos_optuna experiment=pos_ewt hydra.sweeper.n_trials=30")
    assert "hydra.sweeper.n_trials=30" not in optuna and "hydra.sweeper.n_trials=2" in optuna
    assert command("lstmlab-push --model run --repo org/x")[-1] == "--dry-run"
    assert command("lstmlab-eval-transfer --model run -o out/")[-4:] == ["--folds", "2", "--inner-folds", "2"]


def step_params() -> list:
    slow = slow_steps(STEPS, CORPORA)
    return [pytest.param(step, id=step.id, marks=[pytest.mark.slow] if step.id in slow else []) for step in STEPS]


@pytest.mark.parametrize("step", step_params())
def test_documented_step(step, walk):
    """The step, as written, in the walk-through folder: it exits 0 and writes what it says it writes."""
    plan, outcome = walk.run(step)
    if outcome is None:
        pytest.skip(plan.reason)
    assert outcome.returncode == 0, f"{step.id}: {step.text}\n{(outcome.stderr or '')[-3000:]}"
    if plan.action == "run" and step.language == "shell":  # -o untrained writes untrained.csv and untrained.png
        missing = [name for name in Shell.parse(step.tokens).outputs if not any(walk.folder.glob(f"{name}*"))]
        assert not missing, f"{step.id}: {step.text} did not write {missing}"


def test_a_command_reading_what_a_slow_one_writes_is_slow_too():
    """`lstmlab-tag --model tagger-int8` needs the export a slow step makes: the fast walk-through must not run it."""
    slow = slow_steps(STEPS, CORPORA)
    tag = next(step for step in STEPS if step.doc == "docs/deploy.md" and "--model tagger-int8" in step.text)
    assert tag.id in slow
    assert not any("lstmlab-tag --model" in step.text and step.id not in slow for step in STEPS if "logs/" in step.text)
