"""Serving: the supervisor that runs a service's scoring replicas, and the replica itself.

Modules: api (the records and the `Supervisor` Protocol the daemon codes against), messages (the control
protocol both sides speak, docs/engine-api.md section 4), supervisor (`ReplicaSupervisor`), process (one
replica process), startup (readiness), slots (restart backoff), replica/ (the scoring process, started
as `python -P -m mlops_engine.serving.replica`). Nothing is imported here: a replica's start-up must not
pay for the supervisor's modules.
"""
