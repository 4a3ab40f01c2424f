from __future__ import annotations

import json

import pytest

from mlops_engine.batch import BatchConfigError, ParallelRunSettings, settings_from_file, settings_from_params
from mlops_engine.batch.settings import parse_mini_batch_size


def test_defaults_follow_azure_ml():
    s = ParallelRunSettings()
    assert (s.error_threshold, s.output_action, s.append_row_file_name) == (
        -1,
        "append_row",
        "parallel_run_step.txt",
    )
    assert (s.run_invocation_timeout, s.run_max_try, s.node_count, s.logging_level) == (60.0, 3, 1, "INFO")
    assert s.files_per_batch() == 10 and s.tabular_batch_bytes() == 1024 * 1024
    assert s.processes_per_node() >= 1


def test_every_setting_parses_from_params():
    s = settings_from_params(
        [
            "mini_batch_size=10MB",
            "error_threshold:4",
            "output_action=summary_only",
            "append_row_file_name=out.txt",
            "process_count_per_node=3",
            "node_count=2",
            "run_invocation_timeout=1.5",
            "run_max_try=5",
            "allowed_failed_count=2",
            "allowed_failed_percent=12.5",
            "logging_level=debug",
            "append_row_dataframe_header=true",
        ]
    )
    assert s.mini_batch_size is not None and s.mini_batch_size.value == 10 * 1024**2
    assert (s.error_threshold, s.output_action, s.append_row_file_name) == (4, "summary_only", "out.txt")
    assert (s.process_count_per_node, s.node_count, s.total_processes()) == (3, 2, 6)
    assert (s.run_invocation_timeout, s.run_max_try, s.allowed_failed_count) == (1.5, 5, 2)
    assert (s.allowed_failed_percent, s.logging_level, s.append_row_dataframe_header) == (12.5, "DEBUG", True)


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("5", 5, False),
        ("1024", 1024, False),
        ("1024KB", 1024 * 1024, True),
        ("1mb", 1024**2, True),
        ("1GB", 1024**3, True),
    ],
)
def test_mini_batch_size_forms(text, value, unit):
    size = parse_mini_batch_size(text)
    assert (size.value, size.has_unit) == (value, unit)


def test_a_data_size_is_refused_for_file_inputs():
    s = settings_from_params(["mini_batch_size=1MB"])
    with pytest.raises(BatchConfigError, match="number of files"):
        s.files_per_batch()


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("mini_batch_size=abc", "mini_batch_size: expected a number of files"),
        ("mini_batch_size=0", "at least 1"),
        ("error_threshold=-2", r"error_threshold: must be in \[-1"),
        ("error_threshold=x", "error_threshold: expected a whole number, got 'x'"),
        ("output_action=append", "output_action: expected one of append_row, summary_only"),
        ("run_max_try=0", r"run_max_try: must be in \[1"),
        ("run_invocation_timeout=soon", "run_invocation_timeout: expected a number"),
        ("node_count=0", "node_count: must be"),
        ("append_row_file_name=../x.txt", "plain file name"),
        ("allowed_failed_percent=101", "allowed_failed_percent: must be in"),
        ("colour=red", "unknown parallel-run setting 'colour'; known settings: mini_batch_size"),
        ("run_max_try", "setting 'run_max_try' has no value; write run_max_try=<value>"),
        ("run_max_try=", "setting 'run_max_try' has no value"),
        ("=3", "has no name"),
    ],
)
def test_bad_params_are_clear_errors(item, message):
    with pytest.raises(BatchConfigError, match=message):
        settings_from_params([item])


def test_a_setting_given_twice_is_an_error_not_the_last_one_silently():
    with pytest.raises(BatchConfigError, match="given twice"):
        settings_from_params(["run_max_try=2", "run_max_try=4"])


def test_config_file_json_and_yaml(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({"mini_batch_size": "5", "error_threshold": 3}))
    (tmp_path / "c.yml").write_text(
        "parallel_run:\n  run_invocation_timeout: 600\n  arguments: [--model_name, m]\n"
    )
    assert settings_from_file(tmp_path / "c.json").error_threshold == 3
    s = settings_from_file(tmp_path / "c.yml", base=settings_from_params(["run_max_try=2"]))
    assert (s.run_invocation_timeout, s.run_max_try, s.arguments) == (600.0, 2, ("--model_name", "m"))


def test_config_file_errors(tmp_path):
    with pytest.raises(BatchConfigError, match="cannot read the settings file"):
        settings_from_file(tmp_path / "missing.yml")
    (tmp_path / "bad.yml").write_text("- a\n- b\n")
    with pytest.raises(BatchConfigError, match="expected a mapping"):
        settings_from_file(tmp_path / "bad.yml")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(BatchConfigError, match="not valid JSON"):
        settings_from_file(tmp_path / "bad.json")


def test_effective_values_round_trip_through_json():
    s = settings_from_params(["mini_batch_size=1KB", "run_max_try=2", "allowed_failed_percent=5"])
    again = settings_from_params([f"{k}={v}" for k, v in s.to_json().items() if k != "arguments"])
    assert again == s
