"""ERROR: blocks in all their forms, and the ranked transient/permanent classification."""

from __future__ import annotations

import pytest
from orchestrator_testkit import az_sample

from orchestrator.azerrors import classify, parse_az_error


def test_pretty_json_string_error():
    err = parse_az_error(az_sample("account-modelmanagement-show", "not-set"))
    assert err.form == "json"
    assert err.message == "Model Management Account not set. Please run 'az ml account modelmanagement set'"


def test_image_build_failure_dict_error():
    err = parse_az_error(az_sample("image-create", "failed.stderr"))
    assert err.message == "Image creation failed due to an error building the docker image."
    assert err.response_code == 400
    assert err.details[0].startswith(
        "Log Information: https://mlcrpstg28d64569d5b9.blob.core.windows.net/logs/"
    )


def test_generic_error_occurred_after_urllib3_warnings():
    err = parse_az_error(az_sample("service-create", "failed.stderr"))
    assert err.message == "Kubernetes Deployment failed"
    assert err.details == (
        "CrashLoopBackOff: Your container application crashed. This may be caused by errors in your scoring file's init() function.",
    )


def test_python_repr_form_with_bytes_content():
    err = parse_az_error(az_sample("service-create", "conflict"))
    assert err.form == "repr" and err.response_code == 409
    assert err.message == "Error occurred creating service."
    assert err.details == ("A service with the name irisapp already exists.",)
    not_found = parse_az_error(az_sample("image-show", "not-found"))
    assert not_found.response_code == 404 and not_found.details == ("Image not found",)


def test_repr_form_with_exception_object():
    err = parse_az_error(
        "ERROR: {'Azure-cli-ml Version': '0.1.0a27.post3', 'Error': KeyError('numReplicas')}\n"
    )
    assert err.form == "repr" and err.message == "KeyError('numReplicas')"


def test_argparse_usage_error():
    err = parse_az_error(az_sample("model-register", "usage"))
    assert err.form == "usage"
    assert err.message == "az ml model register: error: the following arguments are required: --model/-m"


@pytest.mark.parametrize(
    "sample,category",
    [
        (("image-create", "failed.stderr"), "operation_failed"),
        (
            ("service-create", "failed.stderr"),
            "operation_failed",
        ),  # the urllib3 name-resolution warnings must not count
        (("service-create", "conflict"), "conflict"),
        (("image-show", "not-found"), "not_found"),
        (("model-register", "usage"), "usage"),
        (("model-register", "missing-file"), "not_found"),
        (("manifest-create", "bad-runtime"), "validation"),
        (("account-modelmanagement-create", "bad-sku"), "validation"),
        (("env-set", "failed"), "validation"),
        (("service-update", "local"), "validation"),
    ],
)
def test_classify_genuine_errors(sample, category):
    assert classify(az_sample(*sample)) == category


def _json_error(message, code=None):
    extra = f',\n    "Response Code": {code}' if code is not None else ""
    return (
        'ERROR: {\n    "Azure-cli-ml Version": "0.1.0a27.post3",\n    "Error": "'
        + message
        + '"'
        + extra
        + "\n}\n"
    )


@pytest.mark.parametrize(
    "text,category",
    [
        (_json_error("Error connecting to https://eastus2.modelmanagement.azureml.net/api/x."), "connection"),
        (
            _json_error("Error, request to https://eastus2.modelmanagement.azureml.net/api/x timed out."),
            "timeout",
        ),
        (_json_error("Error, operation request to https://x/operations/1 timed out."), "timeout"),
        (_json_error("Error, operation polling timed out"), "operation_timeout"),
        (
            _json_error(
                "Unable to reach the requested host. If you just created this service, it may not be available yet. Please try again in a few minutes."
            ),
            "connection",
        ),
        (_json_error("Error occurred listing models.", 503), "server"),
        (_json_error("Error occurred listing models.", 429), "throttled"),
        (_json_error("Error occurred listing models.", 401), "auth"),
        (
            "ERROR: {'Azure-cli-ml Version': '0.1.0a27.post3', 'Error': MlCliError({'Error': 'Error occurred while attempting to show image.', 'Response Headers': {'Content-Length': '429'}, 'Response Content': b'{\"code\": \"InternalServerError\", \"statusCode\": 500, \"message\": \"boom\"}', 'Response Code': 500})}",
            "server",
        ),
        ("something odd happened", "error"),
    ],
)
def test_classify_ranked_table(text, category):
    assert classify(text) == category
