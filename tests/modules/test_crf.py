"""The batched, masked CRF against answers computed by hand, and against brute force over every tag sequence (scored
with plain Python sums over the parameters, independently of `CRF.score`) on tiny random inputs."""

from __future__ import annotations

import itertools
import math

import torch

from lstmlab.modules.crf import CRF


def random_crf(num_tags: int, seed: int) -> CRF:
    torch.manual_seed(seed)
    crf = CRF(num_tags)
    for parameter in crf.parameters():
        torch.nn.init.normal_(parameter)
    return crf


def hand_crf() -> CRF:
    """2 tags: start = [0, 1], end = [1, 0], transitions[from][to] = [[1, -2], [1, 3]]."""
    crf = CRF(2)
    with torch.no_grad():
        crf.start.copy_(torch.tensor([0.0, 1.0]))
        crf.end.copy_(torch.tensor([1.0, 0.0]))
        crf.transitions.copy_(torch.tensor([[1.0, -2.0], [1.0, 3.0]]))
    return crf


# emissions[t][tag] for 3 steps. Row 0 of each batch below uses all 3, row 1 only the first 2 (step 2 is padding).
HAND_EMISSIONS = torch.tensor([[2.0, 0.0], [0.0, 1.0], [4.0, 0.0]]).expand(2, 3, 2)
HAND_MASK = torch.tensor([[True, True, True], [True, True, False]])


def sequence_score(crf: CRF, emissions: torch.Tensor, tags: tuple[int, ...]) -> float:
    """score(y) = start[y_1] + sum_t emissions[t, y_t] + sum_t transitions[y_{t-1}, y_t] + end[y_T], in plain Python."""
    start, end, transitions, emitted = (p.tolist() for p in (crf.start, crf.end, crf.transitions, emissions))
    return (
        start[tags[0]]
        + sum(emitted[t][tag] for t, tag in enumerate(tags))
        + sum(transitions[previous][tag] for previous, tag in itertools.pairwise(tags))
        + end[tags[-1]]
    )


def brute_force(crf: CRF, emissions: torch.Tensor, length: int) -> tuple[float, list[int]]:
    """(log Z, best sequence) of one unpadded sequence by enumerating all K^length tag sequences."""
    scores = {
        tags: sequence_score(crf, emissions[:length], tags)
        for tags in itertools.product(range(crf.num_tags), repeat=length)
    }
    log_z = math.log(sum(math.exp(score) for score in scores.values()))
    return log_z, list(max(scores, key=scores.get))


def test_score_known_answer():
    # row 0, tags (0, 1, 1): start[0] + e[0][0] + t[0][1] + e[1][1] + t[1][1] + e[2][1] + end[1]
    #                        = 0 + 2 - 2 + 1 + 3 + 0 + 0 = 4
    # row 1, tags (1, 1) then padding tag 0: start[1] + e[0][1] + t[1][1] + e[1][1] + end[1] = 1 + 0 + 3 + 1 + 0 = 5
    # (counting the padding step would add t[1][0] + e[2][0] = 5 and move the end score to end[0] = 1)
    tags = torch.tensor([[0, 1, 1], [1, 1, 0]])
    assert hand_crf().score(HAND_EMISSIONS, tags, HAND_MASK).tolist() == [4.0, 5.0]


def test_log_partition_known_answer():
    # length 2 (row 1), all 4 sequences: (0,0): 0 + 2 + 1 + 0 + 1 = 4    (0,1): 0 + 2 - 2 + 1 + 0 = 1
    #                                    (1,0): 1 + 0 + 1 + 0 + 1 = 3    (1,1): 1 + 0 + 3 + 1 + 0 = 5
    # log Z = log(e^4 + e^1 + e^3 + e^5) = 5 + log(1 + e^-1 + e^-4 + e^-2) = 5.4197166...
    # length 3 (row 0), all 8 sequences: (0,0,0) 9, (0,0,1) 1, (0,1,0) 7, (0,1,1) 4, (1,0,0) 8, (1,0,1) 0,
    # (1,1,0) 11, (1,1,1) 8, e.g. (1,1,0): start[1] + e[0][1] + t[1][1] + e[1][1] + t[1][0] + e[2][0] + end[0]
    #                                    = 1 + 0 + 3 + 1 + 1 + 4 + 1 = 11
    length_3 = math.log(sum(math.exp(s) for s in (9, 1, 7, 4, 8, 0, 11, 8)))
    length_2 = math.log(sum(math.exp(s) for s in (4, 1, 3, 5)))
    assert abs(length_2 - 5.4197166) < 1e-7
    log_z = hand_crf().log_partition(HAND_EMISSIONS, HAND_MASK)
    assert torch.allclose(log_z, torch.tensor([length_3, length_2]), atol=1e-5)


def test_viterbi_known_answer():
    # Viterbi on row 0: step 0: start + e[0] = [0 + 2, 1 + 0] = [2, 1]
    # step 1, to 0: max(2 + t[0][0], 1 + t[1][0]) = max(3, 2) = 3 (from 0), + e[1][0] = 3
    #         to 1: max(2 + t[0][1], 1 + t[1][1]) = max(0, 4) = 4 (from 1), + e[1][1] = 5
    # step 2, to 0: max(3 + 1, 5 + 1) = 6 (from 1), + e[2][0] = 10;  to 1: max(3 - 2, 5 + 3) = 8 (from 1), + 0 = 8
    # + end: [10 + 1, 8 + 0] = [11, 8] -> last tag 0, back through 1, 1: (1, 1, 0) with score 11, whereas the
    # per-step emission argmax (0, 1, 0) scores only 7.
    # Row 1 stops after step 1: [3, 5] + end = [4, 5] -> last tag 1, from 1: (1, 1), then padding tag 0.
    assert hand_crf().decode(HAND_EMISSIONS, HAND_MASK).tolist() == [[1, 1, 0], [1, 1, 0]]


def test_score_matches_plain_python_sums():
    crf = random_crf(num_tags=3, seed=3)
    lengths = torch.tensor([4, 2, 1])
    emissions = torch.randn(3, 4, 3)
    mask = torch.arange(4)[None] < lengths[:, None]
    tags = torch.randint(3, (3, 4))
    scores = crf.score(emissions, tags, mask)
    for row, length in enumerate(lengths.tolist()):
        expected = sequence_score(crf, emissions[row, :length], tuple(tags[row, :length].tolist()))
        assert abs(scores[row].item() - expected) < 1e-5


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
    assert torch.allclose(
        crf.negative_log_likelihood(padded, tags, mask), crf.negative_log_likelihood(emissions, tags[:, :3], full)
    )
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
