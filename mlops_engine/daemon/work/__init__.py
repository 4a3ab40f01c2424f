"""The work layer: operations, image builds, environment provisioning and service deployments."""
