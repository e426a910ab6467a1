"""The commands of README.md and docs/*.md as a user types them: found in the fenced code blocks, planned by the
rules below and run one after another in one walk-through folder (tests/e2e/test_docs_commands.py runs them).

The rules, all here:
- Blocks: ```bash and ```sh hold shell commands, ```python a script; a block with no language is output and ```yaml
  a config file, shown, not run. Any other language fails `test_every_block_has_a_rule` until it gets a rule.
- Shell lines: `\\` continuations are joined, `# comments` dropped; `NAME=value` before the program is its
  environment, `< file` and `> file` its input and output; `srun` is SLURM's wrapper; `[--option ...]` and `...` in
  a synopsis are left out.
- The walk-through: README.md, then docs/*.md by name, in one fresh clone of the checkout (the docs type `make`
  targets in a checkout; the console scripts work in any folder), which starts with `write_user_files`: the files the
  docs name as a user's own, cut from the bundled samples.
- Placeholders: `logs/<task>/runs/<ts>` is the newest run of that task an earlier command made (distinct
  placeholders of one task in one command: its newest runs, oldest first); `logs/<task>/multiruns/<ts>` its newest
  multirun; `/path/to/corpora` is $LSTMLAB_DATA_DIR; `org/<name>` is a Hugging Face Hub id.
- Smoke limits: training (`lstmlab-train`, `python -m lstmlab.cli.train`, `make train*`, `make long-memory`) gets
  `LIMITS`, one epoch of two batches a split: unlike fast_dev_run it writes checkpoints, so the resume and
  evaluation commands after it run; an Optuna search gets `hydra.sweeper.n_trials=2`; `lstmlab-eval-transfer`
  `TRANSFER_LIMITS`, two outer and two inner folds (all ten tasks on the corpora take 20+ minutes on 2 cores).
- Not run as written: installs (`make test-install` and CI run those) and the test suite itself are skipped; a
  command that needs SLURM, a GPU or a Hub download composes its config instead (`--cfg job`; a multirun's first
  job); `lstmlab-push` runs with `--dry-run`; one that needs corpora beyond the bundled samples (`/path/to/corpora`,
  a composed data path that is missing, lstmlab-eval-transfer's SentEval files) or names another absolute path of
  the writer's machine is skipped unless LSTMLAB_DATA_DIR is set.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig

from lstmlab.cli.hydra_app import expose_plugins, register_resolvers
from lstmlab.data.readers.conllu import read_conllu

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data"
LANGUAGES = {"bash": "shell", "sh": "shell", "python": "python", "": None, "yaml": None}
LIMITS = ["++trainer.max_epochs=1", "++trainer.limit_train_batches=2", "++trainer.limit_val_batches=2",
          "++trainer.limit_test_batches=2"]
TRIALS = "hydra.sweeper.n_trials=2"
TRANSFER_LIMITS = ["--folds", "2", "--inner-folds", "2"]
TIMEOUT = 1800  # a guard against a hung command: 25 sweep jobs took 17 min on 2 cores shared with other work
CORPORA = "/path/to/corpora"
PLACEHOLDER = re.compile(r"<[A-Za-z][^<>\n]*>")
RUN_PLACEHOLDER = re.compile(r"logs/(?P<task>[\w.-]+)/(?P<kind>runs|multiruns)/(?P<name><[A-Za-z][^<>\n]*>)")
HUB_ID = re.compile(r"(^|[\s=\"'])org/")
TRAINING_PROGRAMS = ("lstmlab-train", "lstmlab.cli.train")


@dataclass(frozen=True)
class Block:
    doc: str
    line: int  # the line of its first content line
    language: str
    lines: list[str]


@dataclass(frozen=True)
class Step:
    """A shell command or a Python block of the documentation, named by where it is written."""

    doc: str
    line: int
    language: str  # shell | python
    text: str  # shell: the command, continuations joined; python: the block

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"

    @property
    def tokens(self) -> list[str]:
        """The shell words, placeholders kept whole, synopsis parts left out."""
        words = shlex.split(PLACEHOLDER.sub(lambda match: match[0].replace(" ", "_"), self.text), comments=True)
        kept, optional = [], False
        for word in words:
            optional = optional or word.startswith("[-")
            if not optional and word != "...":
                kept.append(word)
            optional = optional and not word.endswith("]")
        return kept


@dataclass(frozen=True)
class Shell:
    """A shell command taken apart: environment prefix, program and arguments, redirections."""

    env: dict[str, str]
    argv: list[str]
    stdin: str | None
    stdout: str | None

    @classmethod
    def parse(cls, tokens: list[str]) -> Shell:
        env = {}
        while tokens and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", tokens[0]):
            name, value = tokens[0].split("=", 1)
            env[name], tokens = value, tokens[1:]
        argv, redirect = [], {}
        words = iter(tokens)
        for word in words:
            if word in ("<", ">"):
                redirect[word] = next(words)
            else:
                argv.append(word)
        if argv[0] == "srun":
            argv = argv[1:]
        return cls(env, argv, redirect.get("<"), redirect.get(">"))

    @property
    def program(self) -> str:
        return self.argv[1] if self.argv[0] == "make" else self.argv[0]

    @property
    def trains(self) -> bool:
        """`lstmlab-train`, `python -m lstmlab.cli.train`, or a make target that trains."""
        if self.argv[0] == "make":
            return self.program.startswith("train") or self.program == "long-memory"
        return any(program in self.argv[:3] for program in TRAINING_PROGRAMS)

    @property
    def outputs(self) -> list[str]:
        """The files and folders it is documented to write: `> file`, `-o file`."""
        named = [self.argv[index + 1] for index, word in enumerate(self.argv[:-1]) if word in ("-o", "--output")]
        return named + ([self.stdout] if self.stdout else [])


def fenced_blocks(path: Path, doc: str) -> Iterator[Block]:
    language, start, lines = None, 0, []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.startswith("```"):
            lines.append(line) if language is not None else None
        elif language is None:
            language, start, lines = line[3:].strip(), number + 1, []
        else:
            yield Block(doc, start, language, lines)
            language = None


def shell_steps(block: Block) -> Iterator[Step]:
    """One step per command: continuation lines joined onto their first, comment-only lines left out."""
    command, first = "", 0
    for number, line in enumerate(block.lines, start=block.line):
        if not command:
            first = number
        command += line.rstrip().removesuffix("\\")
        if line.rstrip().endswith("\\"):
            continue
        if shlex.split(command, comments=True):
            yield Step(block.doc, first, "shell", command.strip())
        command = ""


def documented_blocks(root: Path = ROOT) -> list[Block]:
    """Every fenced block of README.md, then of docs/*.md by name: the walk-through's order."""
    docs = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    return [block for path in docs for block in fenced_blocks(path, str(path.relative_to(root)))]


def documented_steps(root: Path = ROOT) -> list[Step]:
    steps = []
    for block in documented_blocks(root):
        if LANGUAGES.get(block.language) == "shell":
            steps.extend(shell_steps(block))
        elif LANGUAGES.get(block.language) == "python":
            steps.append(Step(block.doc, block.line, "python", "\n".join(block.lines) + "\n"))
    return steps


@dataclass(frozen=True)
class Plan:
    """How a step runs here: `run` as written (plus smoke limits), `compose` its config only, or `skip`; the reason
    says why it is not simply run."""

    action: str
    reason: str = ""


def static_plan(step: Step, corpora: Path | None) -> Plan:
    """The plan that reading the step alone gives; a training command's composed config may still turn `run` into
    `compose` or `skip` (`Walk.config_plan`)."""
    if step.language == "python" and HUB_ID.search(step.text):
        return Plan("skip", "loads a model from the Hugging Face Hub (org/...)")
    if step.language == "python":
        return Plan("run")
    shell = Shell.parse(step.tokens)
    if shell.program == "pip" or shell.program.startswith("install"):  # pip install, make install(-cpu)
        return Plan("skip", "an install: make test-install and CI install the package")
    if shell.argv[0] == "make" and shell.program.startswith("test"):
        return Plan("skip", "the test suite itself")
    needs_corpora = CORPORA in step.text or shell.program == "lstmlab-eval-transfer"
    elsewhere = [word for word in shell.argv if word.split("=")[-1].startswith("/") and CORPORA not in word]
    if elsewhere:
        return Plan("skip", f"names {elsewhere[0]}, a folder of the writer's machine")
    if needs_corpora and corpora is None:
        return Plan("skip", "needs corpora beyond the bundled samples: set LSTMLAB_DATA_DIR")
    if any(HUB_ID.search(" " + word) for word in shell.argv):
        if shell.program in ("lstmlab-train", "lstmlab-eval"):
            return Plan("compose", "reads a model from the Hugging Face Hub")
        if shell.program != "lstmlab-push":
            return Plan("skip", "downloads a model from the Hugging Face Hub")
    if shell.program == "lstmlab-push":
        return Plan("run", "uploads to the Hugging Face Hub: run with --dry-run")
    if "hydra/launcher=slurm" in shell.argv or step.tokens[0] == "srun":
        return Plan("compose", "needs a SLURM cluster")
    if "trainer=gpu" in shell.argv and not torch.cuda.is_available():
        return Plan("compose", "trains on a GPU")
    return Plan("run")


def is_slow(step: Step, plan: Plan) -> bool:
    """Fast: whatever trains nothing and reads no run (composes, skips, untrained gradient flow); the rest is
    slow (`make test-full`), make targets included (they train, or read the newest run)."""
    if plan.action != "run":
        return False
    shell = Shell.parse(step.tokens) if step.language == "shell" else None
    return shell is None or "logs/" in step.text or shell.trains or shell.argv[0] == "make"


def slow_steps(steps: list[Step], corpora: Path | None) -> set[str]:
    """The ids of the slow steps (`is_slow`), and of the steps that read what an earlier slow one writes (the export
    folder a later command loads): run without it, they would fail for want of it."""
    slow: set[str] = set()
    written_by_slow: set[str] = set()
    for step in steps:
        shell = Shell.parse(step.tokens) if step.language == "shell" else None
        reads_slow_output = shell is not None and any(word in written_by_slow for word in shell.argv[1:])
        if is_slow(step, static_plan(step, corpora)) or reads_slow_output:
            slow.add(step.id)
            written_by_slow.update(shell.outputs if shell is not None else [])
    return slow


def task_of(argv: list[str]) -> str:
    """The task a training command's runs are filed under: its experiment's name (lstmlab's experiments set
    task_name to it), pos_quick with none."""
    return next((word.split("=", 1)[1] for word in argv if word.startswith("experiment=")), "pos_quick")


def training_config(overrides: list[str]) -> DictConfig:
    """The config `lstmlab-train` composes from these overrides, sweeps left out: one job's config says what the
    command reads and where it trains."""
    register_resolvers()  # ${sample:...}, ${env_or:...} in the data configs
    expose_plugins()  # hparams_search's hydra/sweeper=optuna
    parsed = OverridesParser.create().parse_overrides([word for word in overrides if not word.startswith("-")])
    single = [override.input_line for override in parsed if not override.is_sweep_override()]
    GlobalHydra.instance().clear()
    with initialize_config_module("lstmlab.conf", version_base="1.3"):
        return compose("train.yaml", overrides=single)


def first_job(argv: list[str]) -> list[str]:
    """A multirun's first job as a single-run command line (`--cfg job` refuses -m): each sweep at its first value."""
    parser = OverridesParser.create()
    job = []
    for word in argv:
        if word in ("-m", "--multirun"):
            continue
        if "=" in word and not word.startswith("-") and parser.parse_override(word).is_sweep_override():
            key = word.split("=", 1)[0]
            word = f"{key}={next(parser.parse_override(word).sweep_string_iterator())}"
        job.append(word)
    return job


class Unmade(LookupError):
    """A run placeholder names a task whose training an earlier step skipped or only composed."""


@dataclass
class Walk:
    """The walk-through folder and what its earlier steps left undone (task -> why no run of it exists)."""

    folder: Path
    corpora: Path | None
    unmade: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(cls, folder: Path) -> Walk:
        """A fresh clone of the checkout holding the user files the docs name."""
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(folder)], check=True)
        write_user_files(folder)
        corpora = os.environ.get("LSTMLAB_DATA_DIR")
        return cls(folder, Path(corpora) if corpora else None)

    def resolve(self, step: Step) -> str:
        """The step's text with its run placeholders replaced by the runs of the folder (see the module's rules); a
        command's comment is left out (training.md's "# Hydra multirun: logs/pos_ewt/multiruns/<ts>/<n>/" names no
        input)."""
        text = shlex.join(step.tokens) if step.language == "shell" else step.text
        text = text.replace(CORPORA, str(self.corpora)) if self.corpora else text
        wanted: dict[tuple[str, str], list[str]] = {}
        for match in RUN_PLACEHOLDER.finditer(text):
            names = wanted.setdefault((match["task"], match["kind"]), [])
            names.extend([match["name"]] if match["name"] not in names else [])
        for (task, kind), names in wanted.items():
            made = sorted(path.name for path in (self.folder / "logs" / task / kind).glob("*") if path.is_dir())
            if len(made) < len(names) and task in self.unmade:
                raise Unmade(self.unmade[task])
            if len(made) < len(names):
                raise LookupError(f"no earlier command made {len(names)} {task} {kind}: found {made}")
            for name, run in zip(names, made[-len(names):], strict=True):
                text = text.replace(f"logs/{task}/{kind}/{name}", f"logs/{task}/{kind}/{run}")
        return text

    def config_plan(self, shell: Shell) -> Plan:
        """What a training command's composed config needs: a GPU or a Hub dataset (compose), corpora (skip)."""
        cfg = training_config(shell.argv[1:] if shell.argv[0] != "python" else shell.argv[3:])
        if cfg.trainer.get("accelerator") in ("gpu", "cuda") and not torch.cuda.is_available():
            return Plan("compose", "trains on a GPU")
        paths = [cfg.data.get(key) for key in ("train_path", "val_path", "test_path")]
        if cfg.data.get("format") == "hub" and not all((self.folder / str(path)).exists() for path in paths if path):
            return Plan("compose", f"reads the Hugging Face Hub dataset {paths[0]}")
        vectors = (cfg.data.get("vectors") or {}).get("path")
        files = [file for value in paths for file in ([value] if isinstance(value, str) else value or [])]
        for path in [*files, vectors]:
            file = self.folder / str(path)
            if path and not (file.exists() or file.with_name(file.name + ".gz").exists()) and self.corpora is None:
                return Plan("skip", f"needs {path}, not among the bundled samples: set LSTMLAB_DATA_DIR")
        return Plan("run")

    def command(self, shell: Shell, plan: Plan) -> list[str]:
        """The command line to run: as written, plus the smoke limits, or its composing form."""
        argv = list(shell.argv)
        if plan.action == "compose":
            return [*first_job(argv), "--cfg", "job"]
        if shell.program == "lstmlab-push" and "--dry-run" not in argv:
            argv.append("--dry-run")
        if any(word.startswith("hparams_search=") for word in argv):
            argv = [word for word in argv if not word.startswith("hydra.sweeper.n_trials=")] + [TRIALS]
        if shell.program == "lstmlab-eval-transfer" and not any(word.startswith("--folds") for word in argv):
            argv.extend(TRANSFER_LIMITS)
        if shell.trains and argv[0] == "make":
            argv.append("ARGS=" + " ".join(LIMITS))
        elif shell.trains:
            argv.extend(LIMITS)
        return argv

    def environment(self, shell: Shell) -> dict[str, str]:
        """The user's shell: the virtualenv active (its console scripts on PATH, make uses it), offline."""
        bin_dir = str(Path(sys.executable).parent)
        return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
                "VIRTUAL_ENV": sys.prefix, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", **shell.env}

    def plan(self, step: Step) -> tuple[Plan, Step]:
        """The static plan, then the runs its placeholders name (a run an earlier step did not make: skip), then for a
        training command what its composed config needs. A training command that does not run leaves a note for
        the steps that need its run. Returns the plan and the step with its placeholders resolved."""
        plan, resolved = static_plan(step, self.corpora), step
        if plan.action != "skip":
            try:
                resolved = Step(step.doc, step.line, step.language, self.resolve(step))
            except Unmade as reason:
                plan = Plan("skip", str(reason))
        shell = Shell.parse(resolved.tokens) if step.language == "shell" else None
        if shell is None or not shell.trains:
            return plan, resolved
        if shell.argv[0] != "make" and plan.action == "run":
            plan = self.config_plan(shell)
        task = task_of(shell.argv)
        if plan.action == "run":  # the note is about the task's latest training command only
            self.unmade.pop(task, None)
        else:
            self.unmade[task] = f"needs a {task} run, which {step.id} does not make ({plan.reason})"
        return plan, resolved

    def run(self, step: Step) -> tuple[Plan, subprocess.CompletedProcess | None]:
        """Run the step in the folder (stdout and stderr captured unless redirected); no process where it is
        skipped."""
        plan, resolved = self.plan(step)
        if plan.action == "skip":
            return plan, None
        if step.language == "python":
            script = self.folder / f"{step.doc.replace('/', '_')}_{step.line}.py"
            script.write_text(resolved.text, encoding="utf-8")
            return plan, subprocess.run([sys.executable, script.name], cwd=self.folder, capture_output=True,
                                        text=True, env=self.environment(Shell({}, ["python"], None, None)),
                                        timeout=TIMEOUT)
        shell = Shell.parse(resolved.tokens)
        with contextlib.ExitStack() as files:
            stdin = files.enter_context((self.folder / shell.stdin).open("rb")) if shell.stdin else None
            stdout = files.enter_context((self.folder / shell.stdout).open("wb")) if shell.stdout else subprocess.PIPE
            return plan, subprocess.run(self.command(shell, plan), cwd=self.folder, stdin=stdin or subprocess.DEVNULL,
                                        stdout=stdout, stderr=subprocess.PIPE, text=True,
                                        env=self.environment(shell), timeout=TIMEOUT)


def write_user_files(folder: Path) -> None:
    """The files the docs name as a user's own, cut from the bundled samples: raw and tokenized sentences, a CoNLL-U
    file, labelled sentences (SNLI hypotheses and their labels), plain text (inaugural addresses), a small GloVe file
    and a folder of Parquet files in a hub layout (EWT tokens and UPOS tags)."""
    shutil.copy(SAMPLES / "examples" / "sentences.txt", folder / "raw.txt")
    shutil.copy(SAMPLES / "examples" / "sentences.txt", folder / "sentences.txt")
    ewt = SAMPLES / "ud_english_ewt"
    test_sentences = list(islice(read_conllu(ewt / "en_ewt-ud-test.conllu.gz"), 40))
    tokenized = "".join(" ".join(sentence["tokens"]) + "\n" for sentence in test_sentences)
    for name in ("tokenized.txt", "input.txt"):
        (folder / name).write_text(tokenized, encoding="utf-8")
    with gzip.open(ewt / "en_ewt-ud-test.conllu.gz", "rt", encoding="utf-8") as source:
        (folder / "my.conllu").write_text("\n\n".join(source.read().split("\n\n")[:40]) + "\n\n", encoding="utf-8")

    with gzip.open(SAMPLES / "snli" / "snli_1.0_dev.jsonl.gz", "rt", encoding="utf-8") as source:
        pairs = [json.loads(line) for line in islice(source, 300)]
    labelled = [f"{pair['sentence2']}\t{pair['gold_label']}\n" for pair in pairs]
    (folder / "train.tsv").write_text("".join(labelled[:240]), encoding="utf-8")
    (folder / "test.tsv").write_text("".join(labelled[240:]), encoding="utf-8")

    with gzip.open(SAMPLES / "inaugural" / "train.txt.gz", "rt", encoding="utf-8") as source:
        text = list(islice(source, 480))
    for name, lines in {"ptb.train.txt": text[:240], "brown.txt": text[240:400], "dev.txt": text[400:440],
                        "test.txt": text[440:]}.items():
        (folder / name).write_text("".join(lines), encoding="utf-8")

    with gzip.open(SAMPLES / "glove" / "glove.6B.50d.subset.txt.gz", "rt", encoding="utf-8") as source:
        vectors = "".join(islice(source, 2000))
    with gzip.open(folder / "glove.6B.50d.txt.gz", "wt", encoding="utf-8") as target:
        target.write(vectors)

    (folder / "my_ud_parquet").mkdir()
    for split, count in (("train", 300), ("validation", 40), ("test", 40)):  # train: all 17 UPOS tags
        source = ewt / f"en_ewt-ud-{'dev' if split == 'validation' else split}.conllu.gz"
        sentences = list(islice(read_conllu(source), count))
        table = pa.table({"tokens": [s["tokens"] for s in sentences], "upos": [s["tags"] for s in sentences]})
        pq.write_table(table, folder / "my_ud_parquet" / f"{split}.parquet")
