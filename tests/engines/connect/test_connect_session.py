"""The lane's shared session is a Spark Connect client, not a classic session that would make every test moot."""

from __future__ import annotations

from typing import Any

import pytest

from dwh.platforms.spark_connect import is_connect, server_has_delta

pytestmark = [pytest.mark.integration, pytest.mark.spark]


def test_the_shared_session_is_a_connect_client_without_a_jvm_handle(spark: Any) -> None:
    assert is_connect(spark)
    assert getattr(spark, "_jvm", None) is None
    with pytest.raises(Exception, match="JVM_ATTRIBUTE_NOT_SUPPORTED"):
        spark.sparkContext  # noqa: B018 - the attribute access is what fails
    assert server_has_delta(spark) is False  # this lane's server has no Delta jars: DELTA runs on delta-rs
    assert spark.range(3).count() == 3
