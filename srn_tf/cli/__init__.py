"""Console scripts: thin absl mains that validate flags and call one library function."""
