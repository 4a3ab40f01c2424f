"""Pure parsers against samples cut from the genuine transcripts (tests/data/az)."""

from __future__ import annotations

import pytest
from orchestrator_testkit import az_sample

from orchestrator import azparse as p
from orchestrator.errors import UnexpectedOutputError


@pytest.mark.parametrize(
    "command",
    ["account-modelmanagement-show", "account-modelmanagement-set", "account-modelmanagement-create"],
)
def test_account(command):
    account = p.parse_account("az ml account modelmanagement show", az_sample(command, "ok"))
    assert account.resource_group == "mlenvrg" and account.location == "eastus2"


def test_env_succeeded_and_current():
    env = p.parse_env("az ml env show", az_sample("env-show", "succeeded"))
    assert (env.name, env.resource_group, env.state, env.cluster_size, env.errors) == (
        "mlenv",
        "mlenvrg",
        "Succeeded",
        2,
        (),
    )
    assert p.parse_env("az ml env show", az_sample("env-show", "current")).state == "Succeeded"


def test_env_failed_carries_provisioning_errors():
    env = p.parse_env("az ml env show", az_sample("env-show", "failed"))
    assert env.state == "Failed"
    assert env.errors == (
        "ClusterCreationFailed: Cluster creation failed (QuotaExceeded: Resource quota limit exceeded.)",
    )


def test_env_setup_and_set():
    p.parse_env_setup("az ml env setup", az_sample("env-setup", "cluster"))
    p.parse_env_setup("az ml env setup", az_sample("env-setup", "local"))
    assert p.parse_env_set("az ml env set", az_sample("env-set", "ok")) == "mlenv"


@pytest.mark.parametrize(
    "case,expected",
    [("ok", "20eeba0fd8b549eb911661a7284fdc43"), ("verbose", "75803b6aa90b48508912fc655a47aa7e")],
)
def test_model_register_id(case, expected):
    assert p.parse_created_id("az ml model register", az_sample("model-register", case)) == expected


def test_model_show_by_id_and_by_name():
    assert p.parse_model("az ml model show", az_sample("model-show", "id")) == p.Model(
        "20eeba0fd8b549eb911661a7284fdc43", "model.pkl", 1
    )
    models = p.parse_models("az ml model show", az_sample("model-show", "name"))
    assert [m.version for m in models] == [1, 2]
    assert p.parse_models("az ml model show", "[]\n") == ()


def test_manifest_create_and_show():
    assert (
        p.parse_created_id("az ml manifest create", az_sample("manifest-create", "ok"))
        == "23046470-ab23-4465-83cb-954a45bfa7aa"
    )
    manifest = p.parse_manifest("az ml manifest show", az_sample("manifest-show", "ok"))
    assert manifest.model_ids == ("20eeba0fd8b549eb911661a7284fdc43",) and manifest.name == "irismanifest"


@pytest.mark.parametrize(
    "case,image_id",
    [
        ("ok", "21435616-e09c-49d7-9c9a-1c7731199ece"),
        ("verbose", "c464215e-db46-4256-b63d-caf4e93f602c"),
    ],
)
def test_image_create(case, image_id):
    assert p.parse_image_created("az ml image create", az_sample("image-create", case)) == image_id


def test_image_create_progress_line():
    assert p.parse_progress("x", az_sample("image-create", "ok")) == p.Progress(
        "Creating", "image", 3, "Done"
    )
    assert p.parse_progress("x", "Creating image" + "." * 71 + "Done.\n").polls == 71
    assert p.parse_progress("x", az_sample("image-create", "failed.txt")) == p.Progress(
        "Creating", "image", 3, "Failed"
    )
    with pytest.raises(UnexpectedOutputError, match="image build Failed"):
        p.parse_image_created("az ml image create", az_sample("image-create", "failed.txt"))


def test_image_show_and_list():
    image = p.parse_image("az ml image show", az_sample("image-show", "ok"))
    assert (image.name, image.version, image.state, image.manifest_name) == (
        "irisimage",
        1,
        "Succeeded",
        "irismanifest",
    )
    assert [i.state for i in p.parse_images("az ml image list", az_sample("image-list", "ok"))][
        -1
    ] == "Failed"


@pytest.mark.parametrize(
    "case,service_id,polls",
    [
        ("cluster", "irisapp.mlenv-bb3cc870.eastus2", 3),
        ("verbose", "irisapp2.mlenv-3f293297.eastus2", 3),
        ("one-step", "irisapp3.mlenv-12cd3656.eastus2", 3),
    ],
)
def test_service_create_cluster(case, service_id, polls):
    deployed = p.parse_deployed("az ml service create realtime", az_sample("service-create", case))
    assert deployed.service_id == service_id and not deployed.local
    assert deployed.progress and deployed.progress.outcome == "Done" and deployed.progress.polls == polls
    assert deployed.usage and deployed.usage.startswith(f"az ml service run realtime -i {service_id} -d ")


def test_service_create_local_mode():
    deployed = p.parse_deployed("az ml service create realtime", az_sample("service-create", "local"))
    assert deployed.service_id == "churnpred" and deployed.local and deployed.progress is None


def test_service_create_failed_progress():
    with pytest.raises(UnexpectedOutputError, match="service creating Failed"):
        p.parse_deployed("az ml service create realtime", az_sample("service-create", "failed.txt"))


@pytest.mark.parametrize("case", ["ok", "verbose"])
def test_service_update(case):
    deployed = p.parse_deployed("az ml service update realtime", az_sample("service-update", case))
    assert deployed.service_id == "irisapp.mlenv-bb3cc870.eastus2"
    assert deployed.progress and deployed.progress.verb == "Updating" and deployed.progress.outcome == "Done"


def test_service_show_forms():
    (by_id,) = p.parse_services("x", az_sample("service-show", "id"))
    assert by_id.image_url == "mlcrpacr0984963767ad.azurecr.io/irisimage:1" and by_id.image_id is None
    (by_name,) = p.parse_services("x", az_sample("service-show", "name"))
    assert by_name == by_id
    (verbose,) = p.parse_services("x", az_sample("service-show", "verbose"))
    assert verbose.image_id == "21435616-e09c-49d7-9c9a-1c7731199ece" and verbose.image_version == 1
    assert verbose.scoring_uri == "http://203.0.113.10:80/api/v1/service/irisapp/score"
    assert p.parse_services("x", az_sample("service-show", "unknown-id")) == ()


def test_service_run_answer():
    assert p.parse_score("x", az_sample("service-run", "ok")) == '["Iris-setosa"]'
    assert p.parse_score("x", az_sample("service-run", "verbose")) == '["Iris-setosa"]'
    assert p.parse_score("x", '"0"\n') == '"0"'


def test_tables():
    table = p.parse_table("az ml model list", az_sample("model-list", "table"))
    assert table.columns == ("Name", "Id", "Version", "CreatedAt")
    assert table.dicts()[1]["Id"] == "75803b6aa90b48508912fc655a47aa7e"
    images = p.parse_table("az ml image list", az_sample("image-list", "table")).dicts()
    assert [i["CreationState"] for i in images] == ["Succeeded", "Succeeded", "Failed"]
    env = p.parse_table("az ml env show", az_sample("env-show", "table")).dicts()[0]
    assert env["Provisioning State"] == "Succeeded" and env["Cluster Size"] == "2"


@pytest.mark.parametrize(
    "parser,text,reason",
    [
        (p.parse_env, "<html>502 Bad Gateway</html>", "not JSON"),
        (p.parse_env, '{"Cluster Name": "x"}', "missing key 'Resource Group'"),
        (p.parse_model, '{"Id": "a", "Name": "m", "Version": "1"}', "key 'Version' has type str"),
        (p.parse_created_id, "Successfully registered model\n", "no 'Id: ...' line"),
        (p.parse_image_created, "Creating image...Done.\n", "no 'Image ID: ...' line"),
        (p.parse_deployed, "Creating service...Done\n", "no 'Service ID: ...' line"),
        (p.parse_table, "Name Id\n", "no table header rule"),
        (p.parse_env_set, "", "no 'Compute set to ...' line"),
    ],
)
def test_malformed_output_names_the_command(parser, text, reason):
    with pytest.raises(UnexpectedOutputError) as info:
        parser("az ml some command", text)
    assert info.value.command == "az ml some command"
    assert reason in str(info.value)
