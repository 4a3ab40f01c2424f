"""Stand-in for Azure ML's ``azureml_user`` package, put on a batch worker's path (see parallel_run)."""
