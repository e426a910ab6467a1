"""`data.treebank`: a UD treebank named by its folder (as a UD release ships it, or as a corpora folder keeps it) or
by its name under the data directory; its language from the files' prefix; each unusable folder refused in one line
naming it, before anything is trained."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
from conftest import FULL_DATA, ROOT, compose_config

from lstmlab.data.errors import DataFormatError
from lstmlab.data.readers.conllu import read_conllu
from lstmlab.data.readers.treebank import TreebankError, find_treebank
from lstmlab.data.tagging.datamodule import TaggingDataModule
from lstmlab.data.tagging.split import TAG_PADDING

SAMPLES = ROOT / "data"
KOREAN = SAMPLES / "ud_multilingual" / "ko_gsd"
NINE = {"tr_imst": "tr", "vi_vtb": "vi", "ta_ttb": "ta", "mr_ufal": "mr", "fr_sequoia": "fr", "ko_gsd": "ko",
        "id_gsd": "id", "cy_ccg": "cy", "wo_wtb": "wo"}
needs_ud_treebanks = pytest.mark.skipif(not (FULL_DATA / "ud_multilingual").is_dir(),
                                        reason="needs the UD treebanks: set LSTMLAB_DATA_DIR (not in a user's clone)")


def ud_release(folder: Path, sample: Path = KOREAN, splits: tuple[str, ...] = ("train", "dev", "test")) -> Path:
    """A folder laid out as a UD release is downloaded (UD_Korean-GSD/ko_gsd-ud-train.conllu, plain text), made from
    the bundled sample's files."""
    folder.mkdir(parents=True)
    for split in splits:
        name = f"{sample.name}-ud-{split}.conllu"
        (folder / name).write_bytes(gzip.decompress((sample / f"{name}.gz").read_bytes()))
    return folder


def test_a_ud_release_folder_gives_its_three_splits_and_its_language(tmp_path):
    folder = ud_release(tmp_path / "UD_Korean-GSD")
    found = find_treebank(folder)
    assert (found.folder, found.name, found.language) == (folder, "ko_gsd", "ko")
    assert found.paths == {"train": folder / "ko_gsd-ud-train.conllu", "val": folder / "ko_gsd-ud-dev.conllu",
                           "test": folder / "ko_gsd-ud-test.conllu"}


def test_a_name_is_found_under_the_data_directory_among_the_bundled_samples_or_as_a_ud_release_there(tmp_path):
    found = find_treebank("mr_ufal", root=SAMPLES)
    assert found.folder == SAMPLES / "ud_multilingual" / "mr_ufal" and found.language == "mr"
    assert found.paths["val"] == found.folder / "mr_ufal-ud-dev.conllu.gz"
    release = ud_release(tmp_path / "UD_Korean-GSD")
    assert find_treebank("ko_gsd", root=tmp_path).folder == release  # the files' name finds their UD_* folder
    assert find_treebank("UD_Korean-GSD", root=tmp_path).folder == release


def test_the_data_module_reads_the_treebank_in_the_language_of_its_files_unless_told(tmp_path):
    data = TaggingDataModule(treebank="ko_gsd", treebanks_dir=str(SAMPLES))
    data.setup("fit")
    assert data.paths["test"].endswith("ko_gsd-ud-test.conllu.gz") and data.vocabs.language == "ko"
    assert data.data_figures() == {"train_sentences": 60}
    assert TaggingDataModule(treebank="ko_gsd", treebanks_dir=str(SAMPLES), language="ko-KP").language == "ko-KP"


def test_training_reads_syntactic_words_with_all_17_upos_tags():
    """Marathi's multiword tokens (2-3 लाडामुळे = लाडा + मुळे) are left out for their words; the dev split's PROPN,
    which no training sentence of the sample has, is a tag of the model (scored) instead of an error."""
    data = TaggingDataModule(treebank="mr_ufal", treebanks_dir=str(SAMPLES))
    data.setup("fit")
    assert len(data.vocabs.labels) == 17 and "PROPN" in data.vocabs.labels.itos
    assert data.splits["train"].num_tokens == 462  # words, not the 2-3 range lines
    assert "लाडामुळे" not in data.vocabs.words.itos and {"लाडा", "मुळे"} <= set(data.vocabs.words.itos)


def test_feats_as_auxiliary_targets_come_from_training_and_the_rest_is_padding():
    """FEATS strings are classes of their own (`_` one of them); one seen only in dev is TAG_PADDING (nothing to
    learn there), and a batch carries them beside the tags, padded the same way."""
    data = TaggingDataModule(treebank="mr_ufal", treebanks_dir=str(SAMPLES), aux_columns=["feats"])
    data.setup("fit")
    feats = data.aux_vocabs["feats"]
    train = [next(read_conllu(data.paths[split], extra_columns=["feats"]))["feats"] for split in ("train", "val")]
    assert feats.pad is None and feats.unk is None and "_" in feats and set(train[0]) <= set(feats.itos)
    batch = data.splits["train"].__getitems__([0, 1])
    assert batch["aux"]["feats"].shape == batch["tags"].shape
    assert feats.decode(batch["aux"]["feats"][0][: len(train[0])].tolist()) == train[0]
    assert (batch["aux"]["feats"][~batch["mask"]] == TAG_PADDING).all()
    dev = data.splits["val"]
    unseen = sum(value not in feats for sentence in read_conllu(data.paths["val"], extra_columns=["feats"])
                 for value in sentence["feats"])
    assert unseen > 0 and int((dev.aux["feats"].values == TAG_PADDING).sum()) == unseen


def test_a_folder_without_a_split_is_refused_naming_it_and_the_split(tmp_path):
    folder = ud_release(tmp_path / "UD_Korean-GSD", splits=("train", "test"))
    with pytest.raises(TreebankError, match=rf"^treebank folder {folder} has no dev split \(\*-ud-dev.conllu or "
                                            r"\.gz\); a treebank folder holds \*-ud-train.conllu"):
        find_treebank(folder)


def test_two_files_for_one_split_are_refused_naming_both(tmp_path):
    folder = ud_release(tmp_path / "UD_Korean-GSD")
    shutil.copyfile(folder / "ko_gsd-ud-dev.conllu", folder / "ko_kaist-ud-dev.conllu")
    with pytest.raises(TreebankError, match=rf"^treebank folder {folder} has 2 dev splits \(ko_gsd-ud-dev.conllu, "
                                            r"ko_kaist-ud-dev.conllu\): keep one treebank per folder$"):
        find_treebank(folder)
    shutil.copyfile(folder / "ko_gsd-ud-dev.conllu", folder / "ko_gsd-ud-dev.conllu.gz")
    (folder / "ko_kaist-ud-dev.conllu").unlink()
    assert find_treebank(folder).paths["val"] == folder / "ko_gsd-ud-dev.conllu"  # a copy is not a second file


def test_a_file_without_upos_is_refused_before_training_naming_the_file_and_line(tmp_path):
    folder = ud_release(tmp_path / "UD_Korean-GSD")
    test = folder / "ko_gsd-ud-test.conllu"
    lines = test.read_text(encoding="utf-8").splitlines(keepends=True)
    test.write_text("".join(line if line.startswith("#") or "\t" not in line else
                            "\t".join(["_" if index == 3 else field for index, field in enumerate(line.split("\t"))])
                            for line in lines), encoding="utf-8")
    first_word = next(number for number, line in enumerate(lines, 1) if line[:1].isdigit())
    with pytest.raises(DataFormatError, match=rf"^{test}:{first_word}: word '.+' has no UPOS tag$"):
        TaggingDataModule(treebank=str(folder))


def test_an_unknown_name_or_folder_is_refused_naming_where_it_was_looked_for(tmp_path):
    with pytest.raises(TreebankError, match=rf"^no treebank 'xx_none': no folder {tmp_path}/xx_none or "
                                            rf"{tmp_path}/ud_multilingual/xx_none \(nor a UD_\* folder there"):
        find_treebank("xx_none", root=tmp_path)
    with pytest.raises(TreebankError, match=rf"^no treebank folder {tmp_path}/missing/UD_X$"):
        find_treebank(tmp_path / "missing" / "UD_X")


def test_a_treebank_with_explicit_split_paths_or_files_without_a_language_prefix_is_refused(tmp_path):
    with pytest.raises(TreebankError, match=r"^data.treebank=ko_gsd names the CoNLL-U files of all three splits: "
                                            r"leave out data.val_path \(or name files without data.treebank\)$"):
        TaggingDataModule(treebank="ko_gsd", treebanks_dir=str(SAMPLES), val_path="dev.conllu")
    folder = tmp_path / "mine"
    folder.mkdir()
    for split in ("train", "dev", "test"):
        shutil.copyfile(KOREAN / f"ko_gsd-ud-{split}.conllu.gz", folder / f"korean-ud-{split}.conllu.gz")
    with pytest.raises(TreebankError, match=r"do not start with a language code .*; set data.language=<ISO 639"):
        TaggingDataModule(treebank=str(folder))
    assert TaggingDataModule(treebank=str(folder), language="ko").paths["train"].endswith("korean-ud-train.conllu.gz")


@pytest.mark.parametrize(("treebank", "task_name"), [("ko_gsd", "pos_ud_ko_gsd"),
                                                     ("/corpora/UD_Korean-GSD/", "pos_ud_UD_Korean-GSD"),
                                                     (None, "pos_ud_none")])  # then training names the key
def test_runs_of_each_treebank_land_in_a_folder_named_after_it(treebank, task_name, tmp_path):
    given = [f"data.treebank={treebank}"] if treebank else []
    cfg = compose_config("train.yaml", ["experiment=pos_ud", *given], tmp_path)
    assert cfg.task_name == task_name
    assert f"/logs/{task_name}/runs/" in cfg.hydra.run.dir
    assert cfg.data.vectors.path is None and cfg.data.lowercase is False and cfg.model.net.char_encoder == "cnn"


@needs_ud_treebanks
def test_each_whole_treebank_is_found_by_name_in_its_language():
    found = {name: find_treebank(name, root=FULL_DATA) for name in NINE}
    assert {name: treebank.language for name, treebank in found.items()} == NINE
    assert all(treebank.folder == FULL_DATA / "ud_multilingual" / name for name, treebank in found.items())


@needs_ud_treebanks
def test_a_tag_only_the_test_split_has_is_scored_not_refused():
    """Tamil TTB's test split has X, which none of its 400 training sentences has."""
    data = TaggingDataModule(treebank="ta_ttb", treebanks_dir=str(FULL_DATA))
    data.setup()
    x = data.vocabs.labels.index("X")
    assert x in data.splits["test"].tags.values and x not in data.splits["train"].tags.values
