"""Risk-factor catalog and market/macro history loaders."""
