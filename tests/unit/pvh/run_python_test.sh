#!/bin/sh
# Runs a Python unittest file with the host's python3 (from the test's runfiles).
exec python3 "$@"
