"""Start azmlinfsrv exactly as its console script does, but bound to 127.0.0.1 instead of 0.0.0.0.

Same wrapper as the peers.md appendix (serve_loopback.py). Run with the baseline venv's python:
    bench/.venv-infsrv/bin/python bench/serve_loopback.py --entry_script score.py --port P --worker_count 2
"""
import sys

import azureml_inference_server_http.amlserver as srv

srv.DEFAULT_HOST = "127.0.0.1"
sys.argv = ["azmlinfsrv"] + sys.argv[1:]
sys.exit(srv.run())
