"""`delta_rs_engine`: make the DELTA strategies take their delta-rs path on a session that has Spark Delta."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


@contextmanager
def delta_rs_engine() -> Iterator[None]:
    """Within the block the DELTA strategies take their delta-rs path, as on a session without Delta.

    The strategies choose their engine through `dwh.platforms.spark.spark_has_delta`: every `dwh` module holding
    that function is patched, and the DELTA loader's and extractor's modules must be among them.
    """
    import dwh.platforms.spark as platform_spark
    from dwh.strategies.extractors.delta import DeltaExtractor
    from dwh.strategies.loaders.delta import DeltaLoader

    original = platform_spark.spark_has_delta
    holders = [
        name
        for name, module in list(sys.modules.items())
        if name.startswith("dwh.") and getattr(module, "spark_has_delta", None) is original
    ]
    assert {DeltaLoader.__module__, DeltaExtractor.__module__} <= set(holders), holders
    with pytest.MonkeyPatch.context() as patch:
        for name in holders:
            patch.setattr(sys.modules[name], "spark_has_delta", lambda spark: False)
        yield
