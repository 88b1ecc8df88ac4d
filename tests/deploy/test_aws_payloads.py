"""deploy/aws: the Glue job, its start request, the EMR step and the EMR Serverless run, as the AWS CLI takes them.

Proves: each file (after the README's envsubst of START_DATE / END_DATE / the ids) passes botocore's own
parameter validation for its operation's input shape (CreateJob, StartJobRun, AddJobFlowSteps,
emr-serverless StartJobRun), and a wrong field or type fails it; every argv in them goes through
generic_entry's parser and the job's own config model, with the dates filled in per run; Glue's own retries
(MaxRetries) are declared to the job as --max_attempts, its attempt read from the JOB_RUN_ID suffix.
"""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import pytest

from dwh.errors import ConfigError
from tests.deploy.invocations import check_invocation, pairs_to_argv

AWS = Path(__file__).resolve().parents[2] / "deploy" / "aws"
#: What the README's ``envsubst`` gives the placeholders for one run.
RUN = {
    "START_DATE": "2025-03-01",
    "END_DATE": "2025-03-02",
    "EMR_CLUSTER_ID": "j-2AXXXXXXGAPLF",
    "EMR_SERVERLESS_APPLICATION_ID": "00fabcdexample",
}
PAYLOADS = {
    "glue_job.json": ("glue", "CreateJob"),
    "glue_start_job_run.json": ("glue", "StartJobRun"),
    "emr_step.json": ("emr", "AddJobFlowSteps"),
    "emr_serverless_job_run.json": ("emr-serverless", "StartJobRun"),
}


def validate_request(service: str, operation: str, request: dict[str, Any]) -> None:
    """botocore's own validation of `request` against the operation's input shape (raises on any mismatch)."""
    import botocore.session
    from botocore.validate import validate_parameters

    model = botocore.session.get_session().get_service_model(service).operation_model(operation)
    validate_parameters(request, model.input_shape)


def payload(name: str) -> dict[str, Any]:
    """A deploy/aws file with its ``${...}`` placeholders filled in, as envsubst would."""
    text = (AWS / name).read_text(encoding="utf-8")
    return dict(json.loads(string.Template(text).substitute(RUN)))


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_payload_passes_the_boto3_service_model(name: str) -> None:
    validate_request(*PAYLOADS[name], payload(name))


def test_a_wrong_field_or_type_fails_the_model() -> None:
    from botocore.exceptions import ParamValidationError

    job = payload("glue_job.json")
    with pytest.raises(ParamValidationError, match='Unknown parameter in input: "MaxRetry"'):
        validate_request("glue", "CreateJob", {**job, "MaxRetry": 1})
    with pytest.raises(ParamValidationError, match="Invalid type for parameter NumberOfWorkers"):
        validate_request("glue", "CreateJob", {**job, "NumberOfWorkers": "2"})


def test_glue_job_and_run_make_one_valid_invocation_with_glue_retries_declared() -> None:
    job, run = payload("glue_job.json"), payload("glue_start_job_run.json")
    assert run["JobName"] == job["Name"]
    argv = pairs_to_argv({**job["DefaultArguments"], **run["Arguments"]})
    # What the script gets on a retry: Glue's own arguments, the run id carrying the attempt suffix.
    checked = check_invocation([*argv, "--JOB_NAME", job["Name"], "--JOB_RUN_ID", "jr_1f2e_attempt_1"])
    assert (str(checked.run_arguments.start_date), str(checked.run_arguments.end_date)) == ("2025-03-01", "2025-03-02")
    assert checked.run_arguments.max_attempts == job["MaxRetries"] + 1
    assert job["Command"]["ScriptLocation"].endswith("/generic_entry.py")
    assert checked.platform_args["additional_python_modules"].split(",")[0].endswith("-py3-none-any.whl")
    assert (AWS / "glue_start_job_run.json").read_text().count("${START_DATE}") == 1  # dates come per run


def test_emr_step_and_serverless_run_arguments() -> None:
    [step] = payload("emr_step.json")["Steps"]
    args = step["HadoopJarStep"]["Args"]
    assert args[:4] == ["spark-submit", "--deploy-mode", "cluster", "--py-files"]
    assert args[4].endswith("/dwh.zip") and args[5].endswith("/generic_entry.py")
    assert str(check_invocation(args[6:]).run_arguments.start_date) == "2025-03-01"
    driver = payload("emr_serverless_job_run.json")["jobDriver"]["sparkSubmit"]
    assert str(check_invocation(driver["entryPointArguments"]).run_arguments.end_date) == "2025-03-02"
    assert "#environment" in driver["sparkSubmitParameters"]


def test_a_renamed_config_key_in_a_payload_fails_the_check() -> None:
    job = payload("glue_job.json")
    arguments = {**job["DefaultArguments"], **payload("glue_start_job_run.json")["Arguments"]}
    arguments["--load_promos_job"] = arguments["--load_promos_job"].replace('"stage_loader_config"', '"stage_loader"')
    with pytest.raises(ConfigError, match="--load_promos_job: stage_loader_config: required field is missing"):
        check_invocation(pairs_to_argv(arguments))
