"""The failure model: shared features, the saved artifact and vectorised scoring."""
