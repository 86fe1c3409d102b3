"""Data contracts compiled to Great Expectations suites, and source reliability weights."""
