"""The conservativeness proof: the 25 statistics (registry), their functions, and the bootstrap test."""
