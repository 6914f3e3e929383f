"""seeds: the reported figures of the seed reports and the sample-province recipe.

Everything the generator writes is sample data and is labelled so. Names are loaded on first
use.
"""

from __future__ import annotations

from phusong.gis._lazy import lazy_exports

_WHERE = {
    "reported": "phusong.seeds.figures",
    "reported_value": "phusong.seeds.figures",
    "PRESETS": "phusong.seeds.presets",
    "generate_sample": "phusong.seeds.sample",
}

__all__ = [
    "PRESETS",
    "generate_sample",
    "reported",
    "reported_value",
]

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
