"""What every whole network shares: its hyperparameters are one dataclass (`config_type`), saved as JSON beside the
weights under the model `kind`, so the calls that build a network from a Hydra config, rebuild it from a saved model
and describe it for saving are the same for all and written here once (as sentence-transformers' `Module` does)."""

from __future__ import annotations

from dataclasses import MISSING, asdict, fields
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

if TYPE_CHECKING:  # typing.Self is Python 3.11's; lstmlab runs on 3.10
    from typing import Self


class Network(nn.Module):
    """A subclass names its config dataclass and its kind in its class line, `class BiLSTMTagger(Network,
    kind="tagger", config_type=TaggerConfig)`, and builds its layers from `self.config`."""

    config_type: ClassVar[type]  # the dataclass of this network's hyperparameters
    kind: ClassVar[str]  # the model kind saved models of this network carry

    def __init_subclass__(cls, *, kind: str, config_type: type, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.kind, cls.config_type = kind, config_type

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config

    @classmethod
    def from_options(cls, **options: Any) -> Self:
        """Hydra entry point: hyperparameters from the config, vocabulary sizes from the data module."""
        return cls(cls.config_type(**options))

    @classmethod
    def from_saved(cls, net_config: dict, state: dict[str, torch.Tensor]) -> Self:
        """The network a saved model holds: `net_config` as `config_dict` wrote it (older formats upgraded by
        `lstmlab.io.model_folder`), `state` its weights."""
        net = cls(cls.config_type(**net_config))
        net.load_state_dict(state)
        return net

    @classmethod
    def config_defaults(cls) -> dict:
        """Each config field's default: what a config saved before that field existed was trained with (`from_saved`
        builds such a config with it)."""
        with_defaults = (item for item in fields(cls.config_type)
                         if item.default is not MISSING or item.default_factory is not MISSING)
        return {item.name: item.default if item.default is not MISSING else item.default_factory()
                for item in with_defaults}

    def config_dict(self) -> dict:
        """The config as plain JSON values, what a saved model stores to rebuild the network."""
        return asdict(self.config)
