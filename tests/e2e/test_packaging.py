"""lstmlab as a user gets it: a built wheel (not this checkout) installed into a fresh virtualenv and run from a
folder of the user's own, with the configs from inside the package and the user's own config folder beside them.

The fast tests install the wheel without its dependencies into a new virtualenv that borrows this interpreter's
(a `.pth` line; the wheel's own lstmlab comes first on the path). The slow one installs everything from scratch, as
`pip install` on a new machine does; CI runs it in its own step (`make test-install`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT
from helpers import user_env

from lstmlab.data.readers.conllu import read_conllu


def readme_example(first_line: str) -> str:
    """The README's YAML example whose first lines include `first_line`: the file users copy is the file tested."""
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    (block,) = [block for block in blocks if first_line in block.splitlines()[:2]]
    return block


def build_wheel(folder: Path) -> Path:
    """The wheel of this working tree, built from a copy of what goes into it (setuptools writes build/ beside the
    sources, which must not land in the checkout)."""
    source = folder / "source"
    for name in ("src", "conf"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(folder),
                    str(source)], check=True, capture_output=True)
    (wheel,) = folder.glob("lstmlab-*.whl")
    return wheel


def run(venv: Path, command: str, *args: str, cwd: Path, stdin: str | None = None, **env: str
        ) -> subprocess.CompletedProcess:
    """One of the venv's commands, started from `cwd` as a user's shell would."""
    return subprocess.run([str(venv / "bin" / command), *args], cwd=cwd, env=user_env(**env), input=stdin,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A new virtualenv holding the wheel; its dependencies are this interpreter's."""
    folder = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(folder / "bin" / "python"), "install", "--quiet",
                    "--no-deps", str(wheel)], check=True, capture_output=True)
    site_packages = subprocess.run([str(folder / "bin" / "python"), "-c",
                                    "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   check=True, capture_output=True, text=True).stdout.strip()
    (Path(site_packages) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return folder


@pytest.fixture
def home(tmp_path) -> Path:
    """The user's own working folder: outside the checkout, with no data/ and no conf/."""
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


def test_pyproject_lists_every_package_folder():
    """The wheel's packages are listed by hand (conf/ is mapped in from the top level): a new folder must be added."""
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(init.parent.relative_to(ROOT / "src").parts) for init in (ROOT / "src").rglob("__init__.py")}
    assert set(setuptools["packages"]) == on_disk | {"lstmlab.conf"}
    assert setuptools["package-dir"]["lstmlab.conf"] == "conf"


def test_the_wheel_carries_every_config_and_no_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    configs = {f"lstmlab/conf/{path.relative_to(ROOT / 'conf').as_posix()}" for path in (ROOT / "conf").rglob("*.yaml")}
    assert len(configs) > 50 and configs <= names
    assert "hydra_plugins/lstmlab_optuna_sweeper/optuna_sweeper.py" in names
    assert "hydra_plugins/__init__.py" not in names  # a namespace package, shared with other Hydra plugins
    assert not [name for name in names if name.startswith(("data/", "tests/", "conf/")) or name.endswith(".gz")]


def test_installed_wheel_composes_from_any_folder(venv, home):
    where = run(venv, "python", "-c", "import lstmlab, lstmlab.conf; print(lstmlab.__file__, lstmlab.conf.__file__)",
                cwd=home)
    assert where.returncode == 0 and str(venv) in where.stdout and str(ROOT) not in where.stdout
    result = run(venv, "lstmlab-train", "experiment=pos_ewt", "--cfg", "job", cwd=home)
    assert result.returncode == 0, result.stderr
    assert "task_name: pos_ewt" in result.stdout and "use_crf: true" in result.stdout
    search = run(venv, "lstmlab-train", "hparams_search=pos_optuna", "experiment=pos_quick", "--cfg", "hydra", cwd=home)
    assert search.returncode == 0, search.stderr  # Hydra's plugin scan finds the installed Optuna sweeper
    assert "_target_: hydra_plugins.lstmlab_optuna_sweeper.optuna_sweeper.OptunaSweeper" in search.stdout


def test_without_data_the_error_names_the_missing_file_and_the_variable(venv, home):
    result = run(venv, "lstmlab-train", "experiment=pos_quick", "debug=fast_dev_run", cwd=home)
    assert result.returncode != 0
    assert str(home / "data" / "ud_english_ewt" / "en_ewt-ud-train.conllu") in result.stderr
    assert "LSTMLAB_DATA_DIR" in result.stderr


def _files(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file() and "__pycache__" not in path.parts}


def test_quick_start_runs_from_a_users_folder_and_writes_only_there(venv, home, tmp_path):
    before = _files(venv)
    result = run(venv, "lstmlab-train", "experiment=pos_quick", "debug=fast_dev_run", f"paths.cache_dir={tmp_path}",
                 cwd=home, LSTMLAB_DATA_DIR=str(ROOT / "data"))
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (home / "logs" / "debug" / "runs").iterdir()
    assert (run_dir / "model" / "model.safetensors").is_file() and (run_dir / "metrics.json").is_file()
    assert _files(venv) == before  # nothing lands inside the installed package
    tagged = run(venv, "lstmlab-tag", "--model", str(run_dir), "--format", "tsv", cwd=home, stdin="The cat sat.\n")
    assert tagged.returncode == 0, tagged.stderr
    assert [line.split("\t")[0] for line in tagged.stdout.split("\n") if line] == ["The", "cat", "sat", "."]


@pytest.mark.parametrize("sweep", ["grid", "optuna"])
def test_a_multirun_from_a_users_folder_lands_in_its_logs(venv, home, tiny_ewt, tiny_vectors, tmp_path, sweep):
    """`lstmlab-train -m` as the README types it, with the default sweep folder (it crashed before any job with
    `HydraConfig was not set`: the folder named `${hydra:runtime.cwd}`, unset before a job exists)."""
    tiny = [f"data.train_path={tiny_ewt['train']}", f"data.val_path={tiny_ewt['dev']}",
            f"data.test_path={tiny_ewt['test']}", f"data.vectors.path={tiny_vectors}", f"paths.cache_dir={tmp_path}"]
    grid = ["model.net.hidden_size=16,24"] if sweep == "grid" else ["hparams_search=pos_optuna",
                                                                   "hydra.sweeper.n_trials=2"]
    result = run(venv, "lstmlab-train", "-m", "experiment=pos_quick", *grid, "debug=fast_dev_run", *tiny, cwd=home)
    assert result.returncode == 0, result.stderr[-3000:]
    (folder,) = (home / "logs" / "debug" / ("multiruns" if sweep == "grid" else "optuna")).iterdir()
    assert sorted(job.name for job in folder.iterdir() if (job / "metrics.json").is_file()) == ["0", "1"]
    assert f"lstmlab-sweep-report {folder}" in result.stdout + result.stderr  # the closing lines name the report


def write_user_configs(folder: Path, tiny: dict[str, Path]) -> Path:
    """README's two examples in `folder/my_conf`, their placeholder paths pointed at tiny real EWT files (the data
    example reads `token tag` columns, written here from the same sentences)."""
    conf = folder / "my_conf"
    (conf / "experiment").mkdir(parents=True)
    (conf / "data").mkdir()
    experiment = readme_example("# my_conf/experiment/mine.yaml: a GRU tagger with a CRF on my own CoNLL-U files")
    for split, name in (("train", "train"), ("dev", "dev"), ("test", "test")):
        experiment = experiment.replace(f"/path/to/my/{name}.conllu", str(tiny[split]))
    (conf / "experiment" / "mine.yaml").write_text(experiment)
    data = readme_example("# my_conf/data/mydata.yaml")
    for split in ("train", "test"):
        columns = folder / f"{split}.txt"
        with columns.open("w", encoding="utf-8") as out:
            for sentence in read_conllu(tiny[split]):
                out.writelines(f"{token} {tag}\n" for token, tag in zip(sentence["tokens"], sentence["tags"],
                                                                        strict=True))
                out.write("\n")
        data = data.replace(f"/path/to/my/{split}.txt", str(columns))
    (conf / "data" / "mydata.yaml").write_text(data)
    assert "/path/to/my" not in experiment + data
    return conf


@pytest.mark.parametrize("how", ["--config-dir", "hydra.searchpath"])
def test_a_users_own_config_folder_builds_on_the_packaged_groups(venv, home, tiny_ewt, how):
    write_user_configs(home, tiny_ewt)
    where = ["--config-dir", "my_conf"] if how == "--config-dir" else ["hydra.searchpath=[file://my_conf]"]
    result = run(venv, "lstmlab-train", *where, "experiment=mine", "--cfg", "job", cwd=home)
    assert result.returncode == 0, result.stderr
    job = result.stdout
    assert "task_name: mine" in job and "cell: gru" in job and "use_crf: true" in job and "hidden_size: 128" in job
    assert f"train_path: {tiny_ewt['train']}" in job
    data = run(venv, "lstmlab-train", *where, "data=mydata", "--cfg", "job", cwd=home)
    assert data.returncode == 0, data.stderr
    assert "format: columns" in data.stdout and f"train_path: {home / 'train.txt'}" in data.stdout


def test_a_users_own_experiment_and_data_train(venv, home, tiny_ewt, tiny_vectors, tmp_path):
    write_user_configs(home, tiny_ewt)
    quick = ["trainer.max_epochs=1", f"data.vectors.path={tiny_vectors}", f"paths.cache_dir={tmp_path}",
             "callbacks.progress_bar=null"]
    result = run(venv, "lstmlab-train", "--config-dir", "my_conf", "experiment=mine", *quick, cwd=home)
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (home / "logs" / "mine" / "runs").iterdir()
    assert "cell: gru" in (run_dir / ".hydra" / "config.yaml").read_text()
    assert (run_dir / "model" / "config.json").is_file()
    columns = run(venv, "lstmlab-train", "--config-dir", "my_conf", "data=mydata", "task_name=mydata", *quick,
                  cwd=home)
    assert columns.returncode == 0, columns.stderr[-3000:]
    metrics = json.loads(next((home / "logs" / "mydata" / "runs").glob("*/metrics.json")).read_text())
    assert metrics["test/acc"] > 0.2  # 300 real sentences, one epoch: well above the 17 tags' chance


@pytest.mark.slow
def test_pip_install_of_the_wheel_on_a_fresh_virtualenv(tmp_path, home):
    """Everything from scratch: torch as the Makefile installs it, then the wheel with its dependencies resolved."""
    wheel = build_wheel(tmp_path / "dist")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, os.environ.get("TORCH", "torch==2.13.0")], check=True, env=user_env())
    subprocess.run([*pip, str(wheel)], check=True, env=user_env())
    result = run(venv, "lstmlab-train", "experiment=pos_quick", "debug=fast_dev_run", f"paths.cache_dir={tmp_path}",
                 cwd=home, LSTMLAB_DATA_DIR=str(ROOT / "data"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert (home / "logs" / "debug" / "runs").is_dir()
    check = run(venv, "python", "-m", "pip", "check", cwd=home)
    assert check.returncode == 0, check.stdout
