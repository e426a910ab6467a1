"""Hydra's sweep syntax as an Optuna search space, so a search is written the way a grid is:

    model.optimizer.lr: tag(log, interval(1e-4, 3e-2))   # a float, log-uniform
    model.net.hidden_size: choice(128, 256, 512)          # one of these values
    data.batch_size: range(16, 129, 16)                   # an int on a grid (Hydra's range: the end is excluded)
    model.net.num_layers: int(interval(1, 3))             # an int, uniform

The values come back as override strings (`key=value`), the form Hydra composes jobs from.
"""

from __future__ import annotations

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep, Override, RangeSweep
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution


def parse_search_space(params: dict[str, str]) -> dict[str, BaseDistribution]:
    """{key: sweep expression} -> {key: distribution}; an expression that is not a sweep is refused by name."""
    parser = OverridesParser.create()
    return {key: distribution(parser.parse_override(f"{key}={expression}")) for key, expression in params.items()}


def distribution(override: Override) -> BaseDistribution:
    key = override.get_key_element()
    if not override.is_sweep_override():
        raise ValueError(f"hydra.sweeper.params.{key}: {override.get_value_element_as_str()!r} is one value, not a "
                         "search space; write choice(a, b, ...), interval(low, high), tag(log, interval(low, high)) "
                         "or range(start, stop, step), or set it as a fixed override")
    value = override.value()
    if isinstance(value, IntervalSweep):
        log = "log" in value.tags
        if isinstance(value.start, int) and isinstance(value.end, int):
            return IntDistribution(value.start, value.end, log=log)
        return FloatDistribution(float(value.start), float(value.end), log=log)
    if isinstance(value, RangeSweep) and not value.shuffle:
        values = list(override.sweep_iterator())
        if len(values) > 1 and all(isinstance(v, int) for v in values):
            return IntDistribution(values[0], values[-1], step=values[1] - values[0])
    # choice(...), a shuffled or float range, a comma list: one of the listed values, kept as Hydra writes them
    return CategoricalDistribution(list(override.sweep_string_iterator()))


def as_override(key: str, value: object) -> str:
    """`key=value` for a value drawn from `distribution`: categorical values are already override strings."""
    return f"{key}={value!r}" if isinstance(value, float) else f"{key}={value}"


def describe(space: dict[str, BaseDistribution]) -> dict[str, str]:
    """One readable line per parameter, for study.json and the log."""
    lines = {}
    for key, dist in space.items():
        if isinstance(dist, CategoricalDistribution):
            lines[key] = f"one of {', '.join(map(str, dist.choices))}"
        else:
            kind = "int" if isinstance(dist, IntDistribution) else "float"
            scale = ", log scale" if dist.log else (f", step {dist.step}" if dist.step not in (None, 1) else "")
            lines[key] = f"{kind} in [{dist.low}, {dist.high}]{scale}"
    return lines
