"""Lightning checkpoints of an older model format brought to today's, for resuming: `ckpt_path=` goes through
Lightning, not `load_model_file`, so the checkpoint's payload and its network's weights get the same upgrades as an
export folder's (`model_folder.upgrade_model`) here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lstmlab.io.model_folder import upgrade_model

NET_PREFIX = "net."  # the task's network: its weights in a checkpoint's state_dict


def upgrade_checkpoint(checkpoint: dict[str, Any], where: Path) -> None:
    """A checkpoint of an older model format in today's, in place; one without an lstmlab payload is left as is."""
    payload = checkpoint.get("lstmlab")
    if not isinstance(payload, dict):
        return
    state = checkpoint["state_dict"]
    net_state = {key[len(NET_PREFIX):]: value for key, value in state.items() if key.startswith(NET_PREFIX)}
    payload, net = upgrade_model(payload, net_state, where)
    checkpoint["lstmlab"] = payload
    checkpoint["state_dict"] = {**{key: value for key, value in state.items() if not key.startswith(NET_PREFIX)},
                                **{NET_PREFIX + key: value for key, value in net.items()}}
