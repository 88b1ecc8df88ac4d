"""The Freeport main job's config: the modules to build and the shared ``freeport`` block.

{"modules": [{"name": "geo_analysis", "extractor_config": {...}, "sql": "SELECT ... FROM source",
              "loader_config": {...}}, ...],
 "max_parallel_modules": 4, "freeport": {...}, <notification slots>}
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from dwh.config import StrictModel
from dwh.jobs.freeport.config import FreeportConfig, check_name, literal_secret_paths
from dwh.jobs.job_config import JobConfig
from dwh.strategies.extractors.registry import ExtractorConfig
from dwh.strategies.loaders.registry import LoaderConfig


class ModuleConfig(StrictModel):
    """One module of the main job: extract -> optional SQL over view ``source`` -> load."""

    name: str = Field(description="The module's name; its table is <demo_name>_<name>.")
    extractor_config: ExtractorConfig
    sql: str | None = Field(None, description="Spark SQL over the extracted frame, registered as view `source`.")
    loader_config: LoaderConfig

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value, "module name")

    @property
    def sandbox_table(self) -> str:
        """What the loader writes: its ``table``, else its ``path``."""
        return str(getattr(self.loader_config, "table", None) or getattr(self.loader_config, "path", None))


class ParallelModulesJobConfig(JobConfig):
    """``--parallel_modules_job``: the modules to build concurrently and the Freeport block."""

    modules: list[ModuleConfig] = Field(min_length=1, description="The modules to build (at least one).")
    max_parallel_modules: int = Field(4, ge=1, le=64, description="How many modules build at once.")
    freeport: FreeportConfig = Field(default_factory=FreeportConfig)

    @model_validator(mode="after")
    def _unique_and_passable(self) -> ParallelModulesJobConfig:
        names = [module.name for module in self.modules]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"module names must be unique: {', '.join(repeated)} given more than once")
        if not self.freeport.launcher.predeployed:
            literal = literal_secret_paths(self.freeport, "freeport")
            if literal:
                raise ValueError(
                    f"{literal[0]}: a literal secret would be passed on the release job's command line; "
                    "use a reference (env:, file:, databricks:, aws-secretsmanager:, aws-ssm:)"
                )
        return self
