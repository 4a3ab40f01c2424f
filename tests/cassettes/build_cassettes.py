"""Builds tests/cassettes/** from the genuine transcript formats (names and ids adapted to churn).

Usage: python tests/cassettes/build_cassettes.py [--out DIR]  (rewrites every cassette under DIR, default
tests/cassettes; review the diff). tests/cassettes/test_build_cassettes.py builds them into a temporary folder
and fails on any difference from the committed ones.
Failure bodies of transcripts 42 and 53 are read from the shared recordings (RECORDINGS).
"""

import argparse
import hashlib
import json
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT))
from orchestrator import yamlio

ROOT = Path(__file__).resolve().parent
RECORDINGS = Path(__file__).resolve().parents[1] / "conformance" / "transcripts"  # copies of the genuine recordings
SUB = "a1b2c3d4-0000-4000-8000-00000000abcd"
RG, ACCT, ENV, LOC = "mlopsrg", "mlopsacct", "mlopsenv", "eastus2"
NB_ID, DT_ID = "5d1b1c0e9f8a4b3c9d2e1f0a6b7c8d9e", "7a3c5e9b2d4f4e6a8c0b1d3f5e7a9c2b"
MF_NB, MF_DT = "2f6d1a3c-8b4e-4f7a-9c1d-3e5b7a9c0d2f", "8c2e4a6b-1d3f-4a5c-9e7b-0f2d4c6a8e1b"
IMG1, IMG2 = "4b7e9d1f-3a5c-4e8b-a2d4-6f8b0c2e4a6d", "9e1c3a5d-7f2b-4d6e-8a0c-2e4f6b8d0a1c"
SID = "churnpred.mlopsenv-3c9a1f7e.eastus2"
ACR = "mlcrpacr0984963767ad.azurecr.io"
VERSION = '"Azure-cli-ml Version": "0.1.0a27.post3"'


def content(kind):
    return f"fake {kind} model\n".encode()


def tag(kind):
    return "sha256:" + hashlib.sha256(content(kind)).hexdigest()[:20]


SMOKE = json.loads(yamlio.load(PROJECT / "orchestrator" / "data" / "recipes" / "churn-deploy.yaml")["params"]["smoke"]["data"])
DATA = json.dumps(SMOKE)
STAGE = "<MLOPS_HOME>/staging/churnpred/{m}"


def I(argv, stdout="", stderr="", code=0, duration=0.5):
    return {
        "argv": argv.split() if isinstance(argv, str) else argv,
        "exit_code": code,
        "stdout": stdout,
        "stderr": stderr,
        "duration": duration,
    }


def train(kind="naive_bayes", service="churnpred"):
    acc = {"naive_bayes": "Naive Bayes Accuracy: 0.9008", "decision_tree": "DTree Accuracy: 0.9091"}[kind]
    out = STAGE.replace("churnpred", service).format(m=kind)
    return [
        I(
            ["python", "-m", "churn_model.train", "--model", kind, "--outputs", out],
            f"{acc}\n",
            duration=12.0,
        ),
        I(
            ["python", "-m", "churn_model.schema", "--output", out + "/service_schema.json"],
            "Schema generated\n",
            duration=1.5,
        ),
    ]


def account_json(group_key="resourceGroup"):
    return (
        json.dumps(
            {
                "created_on": "2017-12-01T10:00:00.123456Z",
                "description": "",
                "id": f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.MachineLearningModelManagement/accounts/{ACCT}",
                "location": LOC,
                "model_management_swagger_location": f"https://{LOC}.modelmanagement.azureml.net/api/subscriptions/{SUB}/resourceGroups/{RG}/accounts/{ACCT}/swagger.json?api-version=2017-09-01-preview",
                "modified_on": "2017-12-01T10:00:00.123456Z",
                "name": ACCT,
                group_key: RG,
                "sku": {"capacity": 1, "name": "S1"},
                "subscription": SUB,
                "tags": {},
                "type": "Microsoft.MachineLearningModelManagement/accounts",
            },
            indent=2,
            sort_keys=True,
        )
        + "\n"
    )


ACCOUNT_MISSING = (
    "ERROR: {\n    " + VERSION + ',\n    "Error": "Error occurred showing model management account.",\n'
    '    "Response Code": "ResourceNotFound",\n'
    f"    \"Response Content\": \"The Resource 'Microsoft.MachineLearningModelManagement/accounts/{ACCT}' under resource group '{RG}' was not found.\"\n}}\n"
)
ENV_MISSING = (
    "ERROR: {\n    " + VERSION + ',\n    "Response Code": "ResourceNotFound",\n'
    f"    \"Response Content\": \"The Resource 'Microsoft.MachineLearningCompute/operationalizationClusters/{ENV}' under resource group '{RG}' was not found.\"\n}}\n"
)


def account_show_missing():
    return I(f"az ml account modelmanagement show -g {RG} -n {ACCT} -o json", "", ACCOUNT_MISSING, 1)


def account_show():
    return I(f"az ml account modelmanagement show -g {RG} -n {ACCT} -o json", account_json())


def account_create():
    return I(
        f"az ml account modelmanagement create -l {LOC} -n {ACCT} -g {RG} --sku-name S1 --sku-instances 1",
        account_json("resource_group"),
        duration=8,
    )


def account_set():
    return I(f"az ml account modelmanagement set -n {ACCT} -g {RG}", account_json("resource_group"))


def env_json(state, errors=None):
    d = {
        "Cluster Name": ENV,
        "Cluster Size": 2,
        "Created On": "2017-12-01T09:00:00.251Z",
        "Location": LOC,
        "Provisioning State": state,
        "Resource Group": RG,
        "Subscription": SUB,
    }
    if errors:
        d["Provisioning Errors"] = errors
    return json.dumps(d, indent=2, sort_keys=True) + "\n"


def env_show(state, errors=None):
    return I(f"az ml env show -g {RG} -n {ENV} -o json", env_json(state, errors))


def env_show_missing():
    return I(f"az ml env show -g {RG} -n {ENV} -o json", "", ENV_MISSING, 1)


def env_setup():
    return I(
        f"az ml env setup -c -n {ENV} -l {LOC} -g {RG} -y",
        (
            f"Resource group {RG} already exists, skipping creation.\nProvisioning compute resources...\n"
            "Resource creation submitted successfully.\nResources may take 10-20 minutes to be completely provisioned.\n"
            f"To see if your environment is ready to use, run:\n  az ml env show -g {RG} -n {ENV}\n"
            f"Once your environment has successfully provisioned, you can set it as your target context using:\n  az ml env set -g {RG} -n {ENV}\n"
        ),
        duration=6,
    )


def env_set():
    return I(
        f"az ml env set -n {ENV} -g {RG}",
        f"Kubectl dashboard started for cluster at this endpoint: 127.0.0.1:58979/ui\nCompute set to {ENV}.\n",
        duration=3,
    )


MODELS = {
    "naive_bayes": (NB_ID, "Naive Bayes model with default configuration.", 1),
    "decision_tree": (DT_ID, "Using a new model because of higher accuracy", 1),
}


def model_json(kind):
    mid, desc, ver = MODELS[kind]
    return {
        "CreatedAt": "2017-12-11T18:10:01.123457Z",
        "Description": desc,
        "Id": mid,
        "Name": kind,
        "Tags": tag(kind),
        "Version": ver,
    }


def model_tagged(kind, found=False):
    return I(
        ["az", "ml", "model", "show", "-m", kind, "-t", tag(kind), "-o", "json"],
        json.dumps([model_json(kind)] if found else [], indent=2, sort_keys=True) + "\n",
    )


def model_register(kind):
    mid, desc, _ = MODELS[kind]
    return I(
        ["az", "ml", "model", "register", "-m", "model.pkl", "-n", kind, "-t", tag(kind), "-d", desc],
        f" model.pkl\nSuccessfully registered model\nId: {mid}\nMore information: 'az ml model show -m {mid}'\n",
        duration=4,
    )


def model_show(kind):
    return I(
        f"az ml model show -m {MODELS[kind][0]} -o json",
        json.dumps(model_json(kind), indent=2, sort_keys=True) + "\n",
    )


MANIFESTS = {"naive_bayes": (MF_NB, NB_ID), "decision_tree": (MF_DT, DT_ID)}


def manifest_create(kind):
    mf, mid = MANIFESTS[kind]
    return I(
        f"az ml manifest create -n {kind} -i {mid} -r python -f score.py -s service_schema.json",
        f"Creating new driver at <TMPDIR>/tmp9x0mf3_o.py\n score.py\n service_schema.json\nSuccessfully created manifest\nId: {mf}\nMore information: 'az ml manifest show -i {mf}'\n",
        duration=5,
    )


def manifest_show(kind):
    mf, mid = MANIFESTS[kind]
    return I(
        f"az ml manifest show -i {mf} -o json",
        json.dumps(
            {
                "CreatedTime": "2017-12-11T18:10:03.123459Z",
                "Description": " ",
                "Id": mf,
                "ModelIds": [mid],
                "Name": kind,
                "Runtime": "Python",
                "Version": 1,
                "WebserviceType": "Realtime",
            },
            indent=2,
            sort_keys=True,
        )
        + "\n",
    )


def manifest_list(kind):
    mf, _ = MANIFESTS[kind]
    return I(
        "az ml manifest list -o json",
        json.dumps(
            [{"CreatedTime": "2017-12-11T18:10:03.123459Z", "Id": mf, "Name": kind, "Version": 1}],
            indent=2,
            sort_keys=True,
        )
        + "\n",
    )


IMAGES = {1: (IMG1, "naive_bayes"), 2: (IMG2, "decision_tree")}


def image_create(version, dots=3):
    img, kind = IMAGES[version]
    return I(
        f"az ml image create -n churnimage --manifest-id {MANIFESTS[kind][0]}",
        f"Creating image{'.' * dots}Done.\nImage ID: {img}\nMore details: 'az ml image show -i {img}'\nUsage information: 'az ml image usage -i {img}'\n",
        duration=5 * dots + 2,
    )


def image_obj(version, state="Succeeded"):
    img, kind = IMAGES[version]
    return {
        "CreatedTime": "2017-12-11T18:10:06.123462Z",
        "CreationState": state,
        "Description": " ",
        "Id": img,
        "Manifest_Name": kind,
        "Manifest_Version": 1,
        "Name": "churnimage",
        "Version": version,
    }


def image_show(version, state="Succeeded"):
    return I(
        f"az ml image show -i {IMAGES[version][0]} -o json",
        json.dumps(image_obj(version, state), indent=2, sort_keys=True) + "\n",
    )


def image_list(*versions):
    return I(
        "az ml image list -o json",
        json.dumps(
            [
                {
                    k: v
                    for k, v in image_obj(x).items()
                    if k in ("CreatedTime", "CreationState", "Id", "Name", "Version")
                }
                for x in versions
            ],
            indent=2,
            sort_keys=True,
        )
        + "\n",
    )


USAGE = '"{\\"input_df\\": [{\\"age\\": 12, \\"annualincome\\": 168147, \\"churn\\": 0}]}"'


def deployed(verb):
    return (
        f"{verb} service...Done\nService ID: {SID}\nUsage: az ml service run realtime -i {SID} -d {USAGE}\n"
        f"Additional usage information: 'az ml service usage realtime -i {SID}'\n"
    )


def service_obj(version):
    kind = IMAGES[version][1]
    return {
        "Id": SID,
        "Image_URL": f"{ACR}/churnimage:{version}",
        "Manifest_Name": kind,
        "Manifest_Version": 1,
        "Models": f"{kind} [Ver. 1]",
        "Name": "churnpred",
        "Service_Type": "Realtime",
        "State": "Succeeded",
        "UpdatedAt": "2017-12-11T18:10:16.123472Z",
    }


def service_find(version=None):
    return I(
        "az ml service show realtime -n churnpred -o json",
        json.dumps([service_obj(version)] if version else [], indent=2, sort_keys=True) + "\n",
    )


def service_show(version):
    return I(
        f"az ml service show realtime -i {SID} -o json",
        json.dumps(service_obj(version), indent=2, sort_keys=True) + "\n",
    )


def service_show_v(version):
    img, _kind = IMAGES[version]
    obj = {
        "AppInsightsEnabled": False,
        "AutoScaler": {},
        "ComputeResource": {
            "Id": f"/subscriptions/{SUB}/resourcegroups/{RG}/providers/Microsoft.MachineLearningCompute/operationalizationClusters/{ENV}",
            "Type": "Cluster",
        },
        "ContainerResourceReservation": {},
        "CreatedAt": "2017-12-11T18:10:15.123471Z",
        "DataCollection": {"EventHubEnabled": False, "StorageEnabled": False},
        "Error": None,
        "Id": SID,
        "Image": {
            "CreatedTime": "2017-12-11T18:10:06.123462Z",
            "CreationState": "Succeeded",
            "Description": None,
            "Id": img,
            "ImageLocation": f"{ACR}/churnimage:{version}",
            "ImageType": "Docker",
            "Name": "churnimage",
            "Version": version,
        },
        "MaxConcurrentRequestsPerContainer": None,
        "Models": [],
        "Name": "churnpred",
        "NumReplicas": 1,
        "ScoringUri": "http://203.0.113.10:80/api/v1/service/churnpred/score",
        "State": "Succeeded",
        "UpdatedAt": "2017-12-11T18:10:16.123472Z",
    }
    return I(
        f"az ml service show realtime -i {SID} -v -o json", json.dumps(obj, indent=2, sort_keys=True) + "\n"
    )


def service_create(version, dots=4):
    return I(
        f"az ml service create realtime -n churnpred --image-id {IMAGES[version][0]} -z 1",
        deployed("Creating").replace("service...", "service" + "." * dots),
        duration=5 * dots + 3,
    )


def service_update(version):
    return I(
        f"az ml service update realtime -i {SID} --image-id {IMAGES[version][0]}",
        deployed("Updating"),
        duration=20,
    )


def service_run(answer='"0"', stderr="", code=0):
    return I(
        ["az", "ml", "service", "run", "realtime", "-i", SID, "-d", DATA],
        answer + "\n" if answer else "",
        stderr,
        code,
        0.3,
    )


def full_deploy():
    return [
        *train(),
        account_show_missing(),
        account_create(),
        env_show_missing(),
        env_setup(),
        env_show("Creating"),
        env_show("Creating"),
        env_show("Succeeded"),
        env_set(),
        model_tagged("naive_bayes"),
        model_register("naive_bayes"),
        model_show("naive_bayes"),
        manifest_create("naive_bayes"),
        manifest_show("naive_bayes"),
        image_create(1),
        image_show(1),
        service_find(None),
        service_create(1),
        service_run(),
    ]


def until_image():
    return [
        *train(),
        account_show(),
        account_set(),
        env_show("Succeeded"),
        env_set(),
        model_tagged("naive_bayes"),
        model_register("naive_bayes"),
        model_show("naive_bayes"),
        manifest_create("naive_bayes"),
        manifest_show("naive_bayes"),
    ]


def update_prefix(journal_knows_service=False):
    return [
        *train("decision_tree"),
        account_show(),
        account_set(),
        env_set(),
        model_tagged("decision_tree"),
        model_register("decision_tree"),
        model_show("decision_tree"),
        manifest_create("decision_tree"),
        manifest_show("decision_tree"),
        image_create(2),
        image_show(2),
        service_show(1) if journal_knows_service else service_find(1),
        service_show_v(1),
        service_update(2),
    ]


# --- churn-batch: the batch transcripts' formats (recordings/legacy-az-ml-batch: 31_show, 20_create, 40_run,
# 94_local_showjob, 33_show_unknown) plus the engine's showjob lines and `pipeline` JSON (engine additions).
BATCH, PIPE, PIPE_ID = "churnbatch", "churn-batch-scoring", "0c4e7a1d-5b2f-4e9a-8d3c-6f1a2b3c4d5e"
BATCH_ENV = "http://127.0.0.1:40973"
BATCH_IN = "<MLOPS_HOME>/staging/churnbatch/batch/input/CATelcoCustomerChurnTrainingSample.csv"
BATCH_OUT = "<MLOPS_HOME>/staging/churnbatch/batch/output"
BATCH_STAGE = "<MLOPS_HOME>/staging/churnbatch/batch/service"
SETTINGS = ["mini_batch_size:256KB", "error_threshold:0", "output_action:append_row", "run_invocation_timeout:120"]
JOB = "2026-11-29_131408"
ROWS = 20468


def psql(headers, rows):
    widths = [max(len(headers[i]) + 2, *(len(r[i]) for r in rows)) for i in range(len(headers))]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    head = "|" + "|".join(f" {h.ljust(w)} " for h, w in zip(headers, widths)) + "|"
    sep = "|" + "+".join("-" * (w + 2) for w in widths) + "|"
    body = ["|" + "|".join(f" {c.ljust(w)} " for c, w in zip(r, widths)) + "|" for r in rows]
    return "\n".join([line, head, sep, *body, line])


BATCH_USAGE = (
    f"Usage: az ml service run batch -n {BATCH} [--in=--input:<value>] [--out=--output:<value>] "
    "[--param=mini_batch_size:<value>] [--param=error_threshold:<value>] [--param=output_action:<value>] "
    "[--param=run_invocation_timeout:<value>] [-w] [-j <job_id>] [-v]"
)


def batch_show_missing():
    return I(f"az ml service show batch -n {BATCH}", "", f"Failed.\nResponse code: 404\nWeb service '{BATCH}' not found.\n", 1)


def batch_show():
    first = psql(["NAME", "ENVIRONMENT"], [[BATCH, BATCH_ENV]])
    second = psql(["SCORING_URL", "INPUTS", "OUTPUTS", "PARAMETERS"],
                  [[f"{BATCH_ENV}/v1/webservices/{BATCH}/jobs/<job_id>", "--input", "--output",
                    "mini_batch_size, error_threshold, output_action, run_invocation_timeout"]])
    return I(f"az ml service show batch -n {BATCH}", f"{first}\n{second}\n\n{BATCH_USAGE}\n")


def batch_create():
    argv = ["az", "ml", "service", "create", "batch", "-f", f"{BATCH_STAGE}/batch_score.py", "-n", BATCH, "--contract",
            "parallel", f"--in=--input:{BATCH_IN}", f"--out=--output:{BATCH_OUT}",
            *(f"--param={p}" for p in SETTINGS), "-d", f"{BATCH_STAGE}/score.py", "-d", f"{BATCH_STAGE}/model.pkl",
            "--title", f"{BATCH}: churn batch scoring"]
    table = psql(["NAME", "ENVIRONMENT"], [[BATCH, BATCH_ENV]])
    return I(argv, f"Success.\n{table}\n\n{BATCH_USAGE}\n", duration=1.5)


def pipeline_json():
    return json.dumps({"CreatedTime": "2026-11-29T13:14:07.951Z",
                       "Description": "Scores churn customers in parallel mini-batches.",
                       "Endpoint": f"http://127.0.0.1:35007/pipelines/v1.0/PipelineRuns/PipelineSubmit/{PIPE_ID}",
                       "Id": PIPE_ID, "ModifiedTime": "2026-11-29T13:14:07.951Z", "Name": PIPE, "State": "Active",
                       "WebService": BATCH}, indent=2, sort_keys=True) + "\n"


def pipeline_show(found=True):
    missing = ("ERROR: {\n    " + VERSION + f',\n    "Error": "Published pipeline \'{PIPE}\' not found.",\n'
               '    "Response Code": 404\n}\n')
    return I(f"az ml pipeline show --id {PIPE} -o json", pipeline_json() if found else "", "" if found else missing,
             0 if found else 1)


def pipeline_publish():
    return I(["az", "ml", "pipeline", "publish", "-n", PIPE, "--service-name", BATCH, "-d",
              "Scores churn customers in parallel mini-batches.", "-o", "json"], pipeline_json())


def batch_run(job=JOB):
    return I(["az", "ml", "service", "run", "batch", "-n", BATCH, f"--in=--input:{BATCH_IN}"],
             f"Job {job} submitted on service {BATCH}.\n"
             f"To check job status, run: az ml service showjob batch -n {BATCH} -j {job}\n")


def showjob(state, done=0, total=0, rows=0, failed=0, job=JOB, extra=""):
    lines = [f"Name: {BATCH}", f"JobId: {job}"]
    if state != "NotStarted":
        lines.append("Logs available at: file://<MLOPS_HOME>/batch/jobs/0830181c810c4724a392d5cd27fc9632/logs/job_result.txt")
    lines.append(f"State: {state}")
    if total:
        lines.append(f"Progress: mini-batches {done}/{total}, rows {rows:,} done, {failed:,} failed")
    if state == "Succeeded":
        lines.append(f"Output: {BATCH_OUT}/{job}/parallel_run_step.txt")
    return I(f"az ml service showjob batch -n {BATCH} -j {job}", "\n".join(lines) + "\n" + extra)


JOB_FAILED = (
    "Output (partial): " + BATCH_OUT + "/" + JOB + "/parallel_run_step.txt.partial\n"
    "Reason: job aborted: 1706 failed rows exceed error_threshold=0\n"
    "First error:\n"
    "    mini-batch 3 (<MLOPS_HOME>/staging/churnbatch/batch/input/CATelcoCustomerChurnTrainingSample.csv bytes "
    "786432-1048576, 1706 rows) attempt 3/3: error on worker 0/process000\n"
    "    Traceback (most recent call last):\n"
    '      File "<MLOPS_HOME>/batch/services/churnbatch/5f0e/main.py", line 22, in run\n'
    "        return score.predict_frame(mini_batch)\n"
    "    ValueError: could not convert string to float: 'n/a'\n"
)
DAEMON_GONE = (
    "ERROR: {\n    " + VERSION + ',\n    "Error": "Error connecting to the local Model Management service at '
    'http://127.0.0.1:40973 (ConnectionResetError). It may have stopped during this command: run the command again '
    "(it restarts the service), then check with 'az ml ... show' whether the change was made. Log: "
    '<MLOPS_HOME>/daemon/daemon.log"\n}\n'
)


def batch_fresh():
    return [*train(service=BATCH)[:1], env_show_missing(), env_setup(), env_show("Creating"), env_show("Succeeded"),
            env_set(), batch_show_missing(), batch_create(), pipeline_show(found=False), pipeline_publish(),
            batch_run()]


IMAGE_FAILED = (
    (RECORDINGS / "42_image_create_fail.txt")
    .read_text()
    .split("----- stderr -----\n")[1]
    .split("----- exit code")[0]
)
SERVICE_FAILED = (
    (RECORDINGS / "53_service_create_fail.txt")
    .read_text()
    .split("----- stderr -----\n")[1]
    .split("----- exit code")[0]
)
SERVICE_FAILED = (
    SERVICE_FAILED.replace("irisbroken.mlenv-ff394cc1.eastus2", "churnpred.mlopsenv-ff394cc1.eastus2")
    .replace("mlenvrg", RG)
    .replace("mlacct", ACCT)
    .replace("mlenv.example", "mlopsenv.example")
)
IMAGE_FAILED = IMAGE_FAILED.replace("mlenvrg", RG).replace("mlacct", ACCT)
QUOTA = [
    {
        "error": {
            "code": "ClusterCreationFailed",
            "details": [{"code": "QuotaExceeded", "message": "Resource quota limit exceeded."}],
            "message": "Cluster creation failed",
        }
    }
]
UNREACHABLE = (
    "ERROR: {\n    "
    + VERSION
    + ',\n    "Error": "Unable to reach the requested host. If you just created this service, it may not be available yet. Please try again in a few minutes."\n}\n'
)
AUTH = (
    "ERROR: {\n    "
    + VERSION
    + ',\n    "Error": "Error occurred creating model management account.",\n    "Response Code": "AuthorizationFailed",\n'
    f"    \"Response Content\": \"The client 'user@example.com' with object id '0f0f0f0f-1111-2222-3333-444444444444' does not have authorization to perform action 'Microsoft.MachineLearningModelManagement/accounts/write' over scope '/subscriptions/{SUB}/resourceGroups/{RG}'.\"\n}}\n"
)

scenarios = {
    "recipe/churn-batch": [*batch_fresh(), showjob("NotStarted"), showjob("InProgress", 5, 12, 8532),
                           showjob("Succeeded", 12, 12, ROWS)],
    "recipe/churn-batch--rerun": [*train(service=BATCH)[:1], env_show("Succeeded"), env_set(), batch_show(),
                                  pipeline_show(), batch_run("2026-11-29_140112"),
                                  showjob("Succeeded", 12, 12, ROWS, job="2026-11-29_140112")],
    "recipe/churn-batch--model-changed": [*train(service=BATCH)[:1], env_show("Succeeded"), env_set(), batch_show(),
                                          batch_create(), pipeline_show(), batch_run("2026-11-29_140112"),
                                          showjob("Succeeded", 12, 12, ROWS, job="2026-11-29_140112")],
    "recipe/churn-batch--job-failed": [*batch_fresh(), showjob("InProgress", 2, 12, 3412),
                                       showjob("Failed", 4, 12, 5118, 1706, extra=JOB_FAILED)],
    "recipe/churn-batch--transient-retry": [*batch_fresh(), showjob("InProgress", 5, 12, 8532),
                                            I(f"az ml service showjob batch -n {BATCH} -j {JOB}", "", DAEMON_GONE, 1),
                                            showjob("Succeeded", 12, 12, ROWS)],
    "recipe/churn-deploy": full_deploy(),
    "recipe/churn-deploy--rerun": [
        *train(),
        account_show(),
        account_set(),
        env_show("Succeeded"),
        env_set(),
        model_show("naive_bayes"),
        manifest_show("naive_bayes"),
        image_show(1),
        service_show(1),
        service_run(),
    ],
    "recipe/churn-deploy--rerun-without-journal": [
        *train(),
        account_show(),
        account_set(),
        env_show("Succeeded"),
        env_set(),
        model_tagged("naive_bayes", found=True),
        manifest_create("naive_bayes"),
        manifest_show("naive_bayes"),
        image_create(1),
        image_show(1),
        service_find(1),
        service_run(),
    ],
    "recipe/churn-deploy--killed-during-image": [*until_image(), image_create(1)],
    "recipe/churn-deploy--resume-after-kill": [
        *train(),
        account_show(),
        account_set(),
        env_show("Succeeded"),
        env_set(),
        model_show("naive_bayes"),
        manifest_show("naive_bayes"),
        image_list(1),
        image_show(1),
        service_find(None),
        service_create(1),
        service_run(),
    ],
    "recipe/churn-deploy--provisioning-failed": [
        *train(),
        account_show(),
        account_set(),
        env_show_missing(),
        env_setup(),
        env_show("Creating"),
        env_show("Failed", QUOTA),
    ],
    "recipe/churn-deploy--provisioning-timeout": [
        *train(),
        account_show(),
        account_set(),
        env_show("Creating"),
        env_show("Creating"),
        env_show("Creating"),
        env_show("Creating"),
        env_show("Creating"),
        env_show("Creating"),
    ],
    "recipe/churn-deploy--killed-during-manifest": [*until_image()[:-2], manifest_create("naive_bayes")],
    "recipe/churn-deploy--resume-after-manifest-kill": [
        *train(),
        account_show(),
        account_set(),
        env_show("Succeeded"),
        env_set(),
        model_show("naive_bayes"),
        manifest_list("naive_bayes"),
        manifest_show("naive_bayes"),
        image_create(1),
        image_show(1),
        service_find(None),
        service_create(1),
        service_run(),
    ],
    "recipe/churn-deploy--image-failed": [
        *until_image(),
        I(
            f"az ml image create -n churnimage --manifest-id {MF_NB}",
            "Creating image...Failed\n",
            IMAGE_FAILED,
            1,
            9,
        ),
    ],
    "recipe/churn-deploy--service-failed": [
        *until_image(),
        image_create(1),
        image_show(1),
        service_find(None),
        I(
            f"az ml service create realtime -n churnpred --image-id {IMG1} -z 1",
            "Creating service...Failed\n",
            SERVICE_FAILED,
            1,
            30,
        ),
    ],
    "recipe/churn-deploy--transient-retry": [
        *until_image(),
        image_create(1),
        image_show(1),
        service_find(None),
        service_create(1),
        service_run("", UNREACHABLE, 1),
        service_run("", UNREACHABLE, 1),
        service_run(),
    ],
    "recipe/churn-deploy--permanent-error": [
        *train(),
        account_show_missing(),
        account_create() | {"stdout": "", "stderr": AUTH, "exit_code": 1},
    ],
    "recipe/churn-deploy--garbled-output": [
        *train(),
        account_show(),
        account_set(),
        env_show("Succeeded"),
        env_set(),
        model_tagged("naive_bayes"),
        model_register("naive_bayes")
        | {"stdout": " model.pkl\nSuccessfully registered model\nI d: 5d1b1c0e\n"},
    ],
    "update-service/decision-tree": [*update_prefix(), service_run()],
    "update-service/decision-tree--after-deploy": [*update_prefix(journal_knows_service=True), service_run()],
    "update-service/decision-tree--smoke-fails-rollback": [
        *update_prefix(),
        service_run('"1"'),
        service_show(2),
        service_show_v(2),
        image_show(1),
        service_update(1),
        service_run(),
    ],
    "rollback/previous-from-service-show": [
        service_find(2),
        service_show_v(2),
        image_list(1, 2),
        image_show(1),
        service_update(1),
        service_run(),
    ],
    "rollback/to-version": [
        service_find(2),
        service_show_v(2),
        image_list(1, 2),
        image_show(1),
        service_update(1),
        service_run(),
    ],
    "rollback/after-update": [
        account_set(),  # `locate`: the journal knows where churnpred was deployed
        env_set(),
        service_show(2),
        service_show_v(2),
        image_show(1),
        service_update(1),
        service_run(),
    ],
}
for name, interactions in scenarios.items():
    succeeded = "smoke-fails" not in name  # an automatic rollback ends the run as failed: no summary
    if succeeded and interactions[-1]["argv"][2:4] == ["service", "run"] and interactions[-1]["exit_code"] == 0:
        # a successful run ends by reading the scoring URL for the summary (`service show -v`)
        live = 2 if name.startswith("update-service/") else 1
        interactions.append(service_show_v(live))


def write(out):
    for name, interactions in scenarios.items():
        path = out / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        source = "legacy-az-ml-batch" if "batch" in name else "legacy-az-ml"
        header = f"# Replay cassette for `python mlops.py {name.split('/')[0]} ...` ({name.split('/')[1]}).\n# Built from the genuine legacy transcripts' formats (recordings/{source}), names and ids adapted.\n"
        path.write_text(header + yamlio.dump({"version": 1, "interactions": interactions}), encoding="utf-8")
        print(path, len(interactions))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Build the replay cassettes.")
    parser.add_argument("--out", type=Path, default=ROOT, help="folder to write <command>/<scenario>.yaml into")
    write(parser.parse_args().out)
