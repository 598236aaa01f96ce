"""Policy regression tests: expectation files, their runner, the pytest plugin, diffs."""
