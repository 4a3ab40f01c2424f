"""mlops local engine: an az ml compatible CLI, a local Model Management daemon and scoring replicas."""

__version__ = "0.1.0"
LEGACY_CLI_VERSION = "0.1.0a27.post3"

