"""The local Model Management daemon, by layer: routes/ (the HTTP edge), store/ (state.db, artifacts, files),
work/ (operations, builds, provisioning, deployments); app.py assembles them (docs/engine-api.md §6)."""
