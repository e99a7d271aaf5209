"""Files copied into the sandbox image (standard library only); the host imports the executor's
pure functions (output comparison) from here so that each has one definition."""
