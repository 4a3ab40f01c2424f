"""One module per subcommand; each exposes one typed function taking plain values (convention 2)."""
