"""Linear-chain conditional random field: batched, masked forward algorithm and Viterbi decoding.

score(y) = start[y_1] + sum_t emissions[t, y_t] + sum_t transitions[y_{t-1}, y_t] + end[y_T]
p(y | x) = exp(score(y)) / Z,   Z = sum over all tag sequences (the forward algorithm).
"""

from __future__ import annotations

import torch
from torch import nn


class CRF(nn.Module):
    def __init__(self, num_tags: int) -> None:
        super().__init__()
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))  # [from, to]
        self.start = nn.Parameter(torch.zeros(num_tags))
        self.end = nn.Parameter(torch.zeros(num_tags))

    def score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Unnormalised score of the given tag sequences: emissions [B, T, K], tags [B, T], mask [B, T] -> [B]."""
        mask = mask.to(emissions.dtype)
        tags = tags.masked_fill(mask == 0, 0)
        emitted = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # [B, T]
        moved = self.transitions[tags[:, :-1], tags[:, 1:]]  # [B, T-1]
        last = tags.gather(1, (mask.sum(1).long() - 1).unsqueeze(1)).squeeze(1)
        return (
            self.start[tags[:, 0]]
            + (emitted * mask).sum(1)
            + (moved * mask[:, 1:]).sum(1)
            + self.end[last]
        )

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log Z for each sequence: [B]."""
        alpha = self.start + emissions[:, 0]  # [B, K]
        for t in range(1, emissions.shape[1]):
            step = torch.logsumexp(alpha.unsqueeze(2) + self.transitions + emissions[:, t].unsqueeze(1), dim=1)
            alpha = torch.where(mask[:, t].unsqueeze(1), step, alpha)
        return torch.logsumexp(alpha + self.end, dim=1)

    def negative_log_likelihood(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """-log p(tags | emissions) per sequence: [B]. Computed in float32 even under bf16 autocast."""
        emissions = emissions.float()
        return self.log_partition(emissions, mask) - self.score(emissions, tags, mask)

    @torch.no_grad()
    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Viterbi: the highest-scoring tag sequence per row, [B, T] (positions outside the mask are 0)."""
        emissions = emissions.float()
        batch, steps, _ = emissions.shape
        score = self.start + emissions[:, 0]  # [B, K]
        backpointers = []
        for t in range(1, steps):
            candidates = score.unsqueeze(2) + self.transitions  # [B, from, to]
            best, pointer = candidates.max(dim=1)
            step = best + emissions[:, t]
            keep = mask[:, t].unsqueeze(1)
            score = torch.where(keep, step, score)
            # outside the mask a tag points to itself, so backtracking passes through padding unchanged
            identity = torch.arange(self.num_tags, device=emissions.device).expand(batch, -1)
            backpointers.append(torch.where(keep, pointer, identity))
        best_last = (score + self.end).argmax(dim=1)  # [B]
        path = [best_last]
        for pointer in reversed(backpointers):
            path.append(pointer.gather(1, path[-1].unsqueeze(1)).squeeze(1))
        tags = torch.stack(path[::-1], dim=1)
        return tags.masked_fill(~mask, 0)
