"""Entry module of the Freeport main job.

    generic_entry --module_name dwh.jobs.freeport.parallel_modules_job_factory \\
        --parallel_modules_job '<json>' --demo_name NAME [--batch_id ID] [--trigger_releases false]

``--trigger_releases false`` builds the modules and writes their tracking rows but launches nothing: for a
workflow whose own tasks run the releases (the seed's option B), so no release is started twice.

Before any module runs: the config is validated (modules, unique names, the freeport block), every
module's SQL is parsed, and the tracking store is opened; any problem is exit 2 naming the field.
"""

from __future__ import annotations

from typing import Any

from dwh.errors import ConfigError
from dwh.jobs.abstract_job_factory import AbstractJobFactory
from dwh.jobs.freeport.common import batch_id, checked_name, open_tracking
from dwh.jobs.freeport.config import release_config_json
from dwh.jobs.freeport.modules_config import ParallelModulesJobConfig
from dwh.jobs.freeport.parallel_modules_job import ParallelModulesJob
from dwh.platforms.context import RunContext


class ParallelModulesJobFactory(AbstractJobFactory[ParallelModulesJobConfig]):
    """Builds `ParallelModulesJob` from ``--parallel_modules_job`` and ``--demo_name``."""

    job_name = "freeport_parallel_modules"
    config_argument = "parallel_modules_job"
    config_model = ParallelModulesJobConfig
    required_arguments = ("demo_name",)
    factory_arguments = ("batch_id", "trigger_releases")

    def create_job(self, *, config: ParallelModulesJobConfig, context: RunContext) -> ParallelModulesJob:
        """Check names and SQL, open the tracking store, and hand the job its batch id."""
        demo_name = checked_name(self.arguments, "demo_name", "demo name")
        for index, module in enumerate(config.modules):
            if module.sql:
                check_sql(context, module.sql, field=f"--{self.config_argument}: modules[{index}].sql")
        store = open_tracking(config.freeport, self.config_argument)
        batch = batch_id(self.arguments, context, demo_name)
        trigger = str(self.arguments.get("trigger_releases", "true")).lower()
        if trigger not in ("true", "false"):
            raise ConfigError(f"{trigger[:20]!r} is not true or false", field="--trigger_releases")
        release_config = release_config_json(self.declared_config)  # secrets as references, never their values
        return ParallelModulesJob(
            config=config,
            context=context,
            store=store,
            batch_id=batch,
            release_config=release_config,
            trigger_releases=trigger == "true",
        )


def check_sql(context: RunContext, sql: str, *, field: str) -> None:
    """Parse `sql` with Spark's own parser (no table needs to exist); a parse error is exit 2."""
    spark = context.spark
    jvm_session = getattr(spark, "_jsparkSession", None)
    try:
        if jvm_session is not None:
            jvm_session.sessionState().sqlParser().parsePlan(sql)
        else:
            _parse_on_connect(spark, sql)
    except Exception as exc:
        text = str(getattr(exc, "java_exception", exc)) or type(exc).__name__
        first = next((line.strip() for line in text.splitlines() if line.strip()), text)
        raise ConfigError(f"does not parse: {first[:200]}", field=field) from None


def _parse_on_connect(spark: Any, sql: str) -> None:
    """Spark Connect has no parser handle: the server parses ``EXPLAIN <sql>``, which runs nothing.

    Only a parse error is raised; anything else (``source`` is not defined yet) is for the module's own step.
    """
    from pyspark.errors import ParseException

    try:
        spark.sql(f"EXPLAIN {sql}").collect()
    except ParseException:
        raise
    except Exception:
        return


def main(**kwargs: Any) -> Any:
    """Job module contract: build the factory and run it."""
    return ParallelModulesJobFactory().run(**kwargs)
