"""Models from the Hugging Face Hub by id, lstmlab-push and the model card, all offline: the Hub is read from a cache
built here in the layout huggingface_hub reads (`models--org--name/{blobs,snapshots/<commit>,refs/<name>}`), with
HF_HUB_OFFLINE=1, and the upload stops at a stand-in HfApi (the network boundary)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import huggingface_hub
import pytest
import torch
import yaml
from conftest import ROOT

from lstmlab import Elmo, SentenceEncoder, Tagger
from lstmlab.cli import push, tag
from lstmlab.io.hub import EXPORT_FILES, parse_hub_id, push_to_hub
from lstmlab.io.model_card import CARD_FILE, card_metrics, card_text, read_card
from lstmlab.io.model_folder import ModelFileError
from lstmlab.tasks import card_details
from lstmlab.tasks.tagging import TaggingTask

COMMIT = "0123456789abcdef0123456789abcdef01234567"
SENTENCES = ["The dog barks .", "A man plays a guitar in the street ."]


@pytest.fixture
def hub_cache(tmp_path, monkeypatch) -> Path:
    """An empty Hub cache in a tmp HF_HOME, offline: set in the environment and in huggingface_hub's constants,
    which it reads once at import."""
    home = tmp_path / "hf_home"
    cache = home / "hub"
    cache.mkdir(parents=True)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    return cache


def put_in_cache(cache: Path, repo_id: str, folder: Path, commit: str = COMMIT, refs: tuple[str, ...] = ("main",)
                 ) -> None:
    """The files of an export folder as a download leaves them: content-addressed blobs, a snapshot folder of
    links to them, and refs naming the commit."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for file in sorted(folder.iterdir()):
        if file.is_file():
            data = file.read_bytes()
            blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
            blob.write_bytes(data)
            (snapshot / file.name).symlink_to(os.path.relpath(blob, snapshot))
    (repo / "refs").mkdir(exist_ok=True)
    for ref in refs:
        (repo / "refs" / ref).write_text(commit)


def test_hub_ids_are_told_from_paths():
    assert parse_hub_id("org/name") == parse_hub_id("org/name", None)
    assert str(parse_hub_id("org/name@v1")) == "org/name@v1" and parse_hub_id("org/name@v1").revision == "v1"
    assert parse_hub_id("org/name", revision="main").revision == "main"
    for path in ("model", "logs/runs/x", "/abs/path", "./org", "~/org", "org/--x", "org/a..b", "org/"):
        assert parse_hub_id(path) is None, path
    with pytest.raises(ModelFileError, match="two revisions"):
        parse_hub_id("org/name@v1", revision="v2")


def test_each_kind_loads_by_hub_id_and_revision_like_the_local_model(hub_cache, trained, trained_nli, trained_bilm):
    tagger_run, nli_run, bilm_run = trained[0], trained_nli[0], trained_bilm[0]
    put_in_cache(hub_cache, "org/tagger", tagger_run / "model", refs=("main", "v1"))
    put_in_cache(hub_cache, "org/encoder", nli_run / "model")
    put_in_cache(hub_cache, "org/elmo", bilm_run / "model")

    local_tags = [s.tags for s in Tagger.load(tagger_run).predict(SENTENCES)]
    for spec, revision in (("org/tagger", None), ("org/tagger@v1", None), ("org/tagger", "v1"),
                           (f"org/tagger@{COMMIT}", None)):
        assert [s.tags for s in Tagger.load(spec, revision=revision).predict(SENTENCES)] == local_tags

    local = SentenceEncoder.load(nli_run).encode(SENTENCES)
    for spec in ("org/encoder", "org/encoder@main"):
        assert (SentenceEncoder.load(spec).encode(SENTENCES) == local).all()

    tokens = [sentence.split() for sentence in SENTENCES]
    local_layers = Elmo.load(bilm_run)(tokens).layers
    assert torch.equal(Elmo.load("org/elmo", revision="main")(tokens).layers, local_layers)

    with pytest.raises(ModelFileError, match="expected a 'nli' model"):  # the same kind checks as a folder
        SentenceEncoder.load("org/tagger")
    with pytest.raises(ModelFileError, match="no revision 'v2'|not in the cache"):
        Tagger.load("org/tagger@v2")


def test_a_local_path_wins_over_a_hub_id(hub_cache, trained, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(trained[0] / "model", tmp_path / "org" / "tagger")  # ./org/tagger, not in the cache
    assert Tagger.load("org/tagger").tags == Tagger.load(trained[0]).tags


def test_offline_misses_and_missing_paths_fail_in_one_line(hub_cache, tmp_path, monkeypatch):
    with pytest.raises(ModelFileError) as miss:
        Tagger.load("org/not-cached")
    message = str(miss.value)
    assert "\n" not in message and "org/not-cached" in message and "HF_HUB_OFFLINE" in message
    with pytest.raises(ModelFileError, match=r"no such file or directory$"):
        Tagger.load(str(tmp_path / "no" / "such" / "model"))
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # the hub extra not installed
    with pytest.raises(ModelFileError, match=r"pip install 'lstmlab\[hub\]'"):
        Tagger.load("org/not-cached")


def test_the_model_flag_takes_a_hub_id(hub_cache, trained, tmp_path, capsys):
    put_in_cache(hub_cache, "org/tagger", trained[0] / "model")
    source = tmp_path / "in.txt"
    source.write_text("\n".join(SENTENCES) + "\n")
    assert tag.main(["--model", str(trained[0]), str(source), "-o", str(tmp_path / "local.conllu")]) == 0
    assert tag.main(["--model", "org/tagger@main", str(source), "-o", str(tmp_path / "hub.conllu")]) == 0
    assert (tmp_path / "hub.conllu").read_text() == (tmp_path / "local.conllu").read_text()
    capsys.readouterr()
    assert tag.main(["--model", "org/missing", str(source)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("lstmlab-tag: error: org/missing: ") and "HF_HUB_OFFLINE" in line


@pytest.mark.parametrize(("fixture", "load_call"), [
    ("trained", "Tagger.load("), ("trained_nli", "SentenceEncoder.load("), ("trained_bilm", "Elmo.load(")])
def test_every_export_has_a_card_with_the_runs_metrics(fixture, load_call, request):
    run = request.getfixturevalue(fixture)[0]
    text = (run / "model" / CARD_FILE).read_text()
    front, body = text.split("\n---\n", 1)
    meta = yaml.safe_load(front.removeprefix("---\n"))
    metrics = json.loads((run / "metrics.json").read_text())
    expected = {key: value for key, value in metrics.items() if key.startswith(("val/", "test/"))}
    assert expected and any(key.startswith("test/") for key in expected)
    assert meta["library_name"] == "lstmlab" and meta["language"] == ["en"] and "lstmlab" in meta["tags"]
    assert meta["lstmlab"]["metrics"] == expected
    reported = {m["name"]: (result["dataset"]["split"], m["value"])
                for result in meta["model-index"][0]["results"] for m in result["metrics"]}
    assert {name: value for name, (_, value) in reported.items()} == expected
    assert all(split == ("test" if name.startswith("test/") else "validation") for name, (split, _) in reported.items())
    assert meta["lstmlab"]["command"].startswith("lstmlab-train experiment=")
    assert load_call in body and "--model" in body and meta["lstmlab"]["config"]["data"]
    assert read_card(run / "model") == meta


def test_the_card_names_known_data_and_its_license():
    config = {"data": {"train_path": "/d/ud_english_ewt/en_ewt-ud-train.conllu", "tag_column": "upos",
                       "test_path": "/d/ud_english_ewt/en_ewt-ud-test.conllu"}}
    meta = yaml.safe_load(card_text({"kind": "tagger"}, TaggingTask.card_details(config), {"test/acc": 0.9},
                                    config).split("\n---\n")[0][4:])
    assert meta["license"] == "cc-by-sa-4.0" and meta["datasets"] == ["universal_dependencies"]
    assert {"token-classification", "pos"} <= set(meta["tags"]) and card_metrics({"epochs": 3, "test/acc": 1}) == {
        "test/acc": 1.0}


def test_the_card_of_a_treebank_run_names_the_treebank():
    text = card_text({"kind": "tagger"}, None, {"test/acc": 0.9}, {"data": {"treebank": "ko_gsd", "language": "ko"}})
    assert "- treebank: `ko_gsd`" in text


def exported_copy(run: Path, tmp_path: Path) -> Path:
    """A run folder of its own (model/ and metrics.json; checkpoints too, which are never uploaded)."""
    copy = tmp_path / "run"
    shutil.copytree(run / "model", copy / "model")
    shutil.copy(run / "metrics.json", copy / "metrics.json")
    shutil.copytree(run / "checkpoints", copy / "checkpoints")
    return copy


def folder_state(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `folder` (hidden ones too): its bytes and modification time."""
    return {str(path.relative_to(folder)): (path.read_bytes(), path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.mark.parametrize("card", ["missing", "lstmlab's own"])
def test_push_dry_run_lists_the_export_files_and_writes_nothing(trained, tmp_path, card):
    """The real console script: the files it would upload on stdout, the card among them even where the push would
    write it; the run folder byte-identical and untouched afterwards (issue 26, defect 7)."""
    script = Path(sys.executable).parent / "lstmlab-push"
    if not script.exists():
        pytest.skip("lstmlab is not installed as a package (make install)")
    run = exported_copy(trained[0], tmp_path)
    if card == "missing":
        (run / "model" / CARD_FILE).unlink()
    before = folder_state(run)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    result = subprocess.run([str(script), "--model", str(run), "--repo", "org/tagger", "--dry-run"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert folder_state(run) == before
    listed = [Path(line) for line in result.stdout.splitlines()]
    assert {path.name for path in listed} == {"model.safetensors", "config.json", CARD_FILE}
    assert all(path.parent == run / "model" and path.name in EXPORT_FILES for path in listed)
    summary = result.stderr.strip().splitlines()[-1]
    assert "dry run: 3 files would be uploaded to org/tagger" in summary and "nothing written or uploaded" in summary
    assert ("README.md written by the push" in summary) == (card == "missing")


def test_push_from_python_rewrites_the_tasks_card_from_what_the_card_recorded(trained, tmp_path, monkeypatch):
    """`push_to_hub` without `card_details` (the documented Python call): the card written at training time holds
    its task's details, so the pushed card is still the tagger's, naming the repo."""
    run = exported_copy(trained[0], tmp_path)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelFileError, match="HF_HUB_OFFLINE"):
        push_to_hub(run, "org/tagger")
    card = (run / "model" / CARD_FILE).read_text()
    assert 'Tagger.load("org/tagger")' in card and "lstmlab-tag --model org/tagger" in card
    assert "token-classification" in read_card(run / "model")["tags"]


def test_push_writes_a_missing_card_naming_the_repo(trained, tmp_path, monkeypatch):
    run = exported_copy(trained[0], tmp_path)
    (run / "model" / CARD_FILE).unlink()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelFileError, match="HF_HUB_OFFLINE"):  # the card is written before the upload is tried
        push_to_hub(run, "org/tagger", card_details=card_details)
    card = (run / "model" / CARD_FILE).read_text()
    assert 'Tagger.load("org/tagger")' in card  # the run's metrics, from its metrics.json
    assert read_card(run / "model")["lstmlab"]["metrics"]["test/acc"] == trained[1]["test/acc"]


def test_push_refuses_what_does_not_load_and_offline(trained, tmp_path, monkeypatch, capsys):
    (tmp_path / "empty").mkdir()
    assert push.main(["--model", str(tmp_path / "empty"), "--repo", "org/x", "--dry-run"]) == 2
    assert "not an export folder" in capsys.readouterr().err
    run = exported_copy(trained[0], tmp_path)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    assert push.main(["--model", str(run), "--repo", "org/tagger"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("lstmlab-push: error: org/tagger: ") and "HF_HUB_OFFLINE" in line


def test_push_as_a_command_offline(trained, tmp_path):
    run = exported_copy(trained[0], tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    result = subprocess.run([sys.executable, "-m", "lstmlab.cli.push", "--model", str(run), "--repo", "org/t"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "HF_HUB_OFFLINE" in result.stderr


class FakeHfApi:
    """huggingface_hub.HfApi at the network boundary: records the calls."""

    calls: list = []

    def create_repo(self, repo_id, **settings):
        self.calls.append(("create_repo", repo_id, settings))

    def create_branch(self, repo_id, **settings):
        self.calls.append(("create_branch", repo_id, settings))

    def upload_folder(self, **settings):
        self.calls.append(("upload_folder", settings))
        return huggingface_hub.CommitInfo(commit_url="https://huggingface.co/org/nli/commit/1", commit_message="m",
                                          commit_description="", oid="1" * 40)


def test_push_creates_the_repo_and_uploads_the_export_files_only(trained_nli, tmp_path, monkeypatch):
    run = exported_copy(trained_nli[0], tmp_path)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeHfApi)
    FakeHfApi.calls = []
    files, url = push_to_hub(run, "org/nli", private=True, revision="v1", commit_message="first")
    assert url.endswith("/commit/1")
    (create, branch, upload) = FakeHfApi.calls
    assert create == ("create_repo", "org/nli", {"private": True, "exist_ok": True})
    assert branch[0] == "create_branch" and branch[2]["branch"] == "v1"
    settings = upload[1]
    assert settings["folder_path"] == run / "model" and settings["revision"] == "v1"
    assert settings["commit_message"] == "first" and "checkpoints" not in str(settings["allow_patterns"])
    assert sorted(settings["allow_patterns"]) == sorted(file.name for file in files)
    assert 'SentenceEncoder.load("org/nli")' in (run / "model" / CARD_FILE).read_text()


def test_push_without_a_network_fails_in_one_line(trained, tmp_path, monkeypatch):
    import httpx

    class Unreachable(FakeHfApi):
        def create_repo(self, repo_id, **settings):
            raise httpx.ConnectError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub, "HfApi", Unreachable)
    with pytest.raises(ModelFileError, match=r"^org/t: the Hub could not be reached \(ConnectError") as error:
        push_to_hub(exported_copy(trained[0], tmp_path), "org/t")
    assert "\n" not in str(error.value)
