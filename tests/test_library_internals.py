"""Undocumented library behaviour that lstmlab relies on and no other test pins (docs/internals.md lists every
private API and undocumented behaviour lstmlab uses, and the test that pins each). Each test here fails when the
library changes what lstmlab counts on, so an upgrade that breaks it shows here first, by name."""

from __future__ import annotations

import socket

import pytest
import torch

from lstmlab.data.batching.samplers import BucketBatchSampler, EpochSampler, ResumableDataLoader, pass_batch
from lstmlab.utils.slurm import in_slurm_job, run_name


class WholeBatches(torch.utils.data.Dataset):
    """A split as lstmlab's are: `__getitems__` builds the whole padded batch (a dict), not a list of samples."""

    def __init__(self, lengths: list[int]) -> None:
        self.lengths = lengths
        self.asked: list[list[int]] = []

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        raise AssertionError("the loader fetched one item at a time instead of calling __getitems__")

    def __getitems__(self, indices: list[int]) -> dict[str, torch.Tensor]:
        self.asked.append(list(indices))
        width = max(self.lengths[i] for i in indices)
        mask = torch.tensor([[step < self.lengths[i] for step in range(width)] for i in indices])
        return {"mask": mask, "num_tokens": int(mask.sum())}


def test_a_data_loader_hands_what_getitems_returns_to_collate_fn_unchanged():
    """torch documents `__getitems__` as returning a list of samples; every lstmlab split returns the padded batch
    itself and its loader passes it through (`collate_fn=pass_batch`), so torch's fetcher must call
    `__getitems__` once per batch with the batch's indices and give collate_fn exactly what it returned."""
    lengths = [3, 1, 4, 1, 5, 9, 2, 6]
    dataset = WholeBatches(lengths)
    sampler = BucketBatchSampler(EpochSampler(len(lengths), shuffle=False), lengths, batch_size=3)
    batches = list(ResumableDataLoader(dataset, batch_sampler=sampler, collate_fn=pass_batch))
    assert dataset.asked == [[1, 3, 6], [0, 2, 4], [7, 5]]  # one call per batch, by length
    assert [batch["mask"].shape for batch in batches] == [(3, 2), (3, 5), (2, 9)]
    assert [batch["num_tokens"] for batch in batches] == [4, 12, 15]


@pytest.mark.parametrize(("job_name", "a_job"), [("pos_ewt", True), ("bash", False), ("interactive", False)])
def test_an_interactive_slurm_allocation_is_not_taken_for_a_batch_job(monkeypatch, job_name, a_job):
    """`in_slurm_job` is Lightning's `SLURMEnvironment.job_id()`, which is None in an interactive allocation
    (`srun --pty bash`, `salloc`: job name bash or interactive), an undocumented rule. Taken for a batch job there,
    every run would be named after the allocation and a second run with the same overrides would resume the
    first's last.ckpt."""
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    monkeypatch.setenv("SLURM_JOB_NAME", job_name)
    assert in_slurm_job() is a_job
    assert run_name("2026-12-07_10-00-00", "trainer.max_epochs=3").startswith("slurm-4242-") is a_job


def test_a_hub_request_that_cannot_connect_raises_an_httpx_error(monkeypatch):
    """`lstmlab-push` tells "the Hub could not be reached" from the Hub's refusals by the exception type:
    huggingface_hub's HTTP client is httpx (an implementation detail, since huggingface_hub 1.0), so a request
    that never reaches the Hub raises an `httpx.HTTPError` that is not its `HfHubHTTPError`."""
    hub = pytest.importorskip("huggingface_hub", reason="the hub extra: pip install 'lstmlab[hub]'")
    import httpx

    monkeypatch.setattr(hub.constants, "HF_HUB_OFFLINE", False)  # the tests run offline; this request must go out
    with socket.socket() as probe:  # a local port nothing listens on: refused at once, no network needed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = hub.HfApi(endpoint=f"http://127.0.0.1:{port}", token="hf_not_a_token")
    with pytest.raises(httpx.HTTPError) as error:
        api.create_repo("org/model", exist_ok=True)
    assert not isinstance(error.value, hub.errors.HfHubHTTPError)
