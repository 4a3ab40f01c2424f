"""The store layer: state.db (records, migrations, one module per resource), the artifact store and files."""
