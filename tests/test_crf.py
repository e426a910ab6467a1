"""The batched, masked CRF equals brute force over every tag sequence on tiny inputs."""

from __future__ import annotations

import itertools

import torch

from lstmlab.modules.crf import CRF


def random_crf(num_tags: int, seed: int) -> CRF:
    torch.manual_seed(seed)
    crf = CRF(num_tags)
    for parameter in crf.parameters():
        torch.nn.init.normal_(parameter)
    return crf


def brute_force(crf: CRF, emissions: torch.Tensor, length: int) -> tuple[float, list[int]]:
    """(log Z, best sequence) of one unpadded sequence by enumerating all K^length tag sequences."""
    scores = {}
    for tags in itertools.product(range(crf.num_tags), repeat=length):
        tensor = torch.tensor([tags])
        mask = torch.ones(1, length, dtype=torch.bool)
        scores[tags] = crf.score(emissions[None, :length], tensor, mask).item()
    log_z = torch.logsumexp(torch.tensor(list(scores.values())), 0).item()
    return log_z, list(max(scores, key=scores.get))


def test_partition_and_viterbi_match_brute_force():
    crf = random_crf(num_tags=3, seed=0)
    lengths = torch.tensor([5, 3, 1, 4])
    emissions = torch.randn(4, 5, 3)
    mask = torch.arange(5)[None] < lengths[:, None]
    log_z = crf.log_partition(emissions, mask)
    best = crf.decode(emissions, mask)
    for row, length in enumerate(lengths.tolist()):
        expected_z, expected_best = brute_force(crf, emissions[row], length)
        assert abs(log_z[row].item() - expected_z) < 1e-4
        assert best[row, :length].tolist() == expected_best
        assert best[row, length:].eq(0).all()


def test_padding_does_not_change_results():
    crf = random_crf(num_tags=4, seed=1)
    emissions = torch.randn(1, 3, 4)
    padded = torch.cat([emissions, torch.randn(1, 4, 4)], dim=1)
    mask = torch.tensor([[True] * 3 + [False] * 4])
    tags = torch.tensor([[1, 2, 3, 0, 2, 2, 1]])
    full = torch.ones(1, 3, dtype=torch.bool)
    assert torch.allclose(crf.negative_log_likelihood(padded, tags, mask),
                          crf.negative_log_likelihood(emissions, tags[:, :3], full))
    assert crf.decode(padded, mask)[0, :3].tolist() == crf.decode(emissions, full)[0].tolist()


def test_likelihoods_of_all_sequences_sum_to_one():
    crf = random_crf(num_tags=2, seed=2)
    emissions = torch.randn(1, 3, 2)
    mask = torch.ones(1, 3, dtype=torch.bool)
    total = sum(
        torch.exp(-crf.negative_log_likelihood(emissions, torch.tensor([tags]), mask)).item()
        for tags in itertools.product(range(2), repeat=3)
    )
    assert abs(total - 1) < 1e-5
