"""Test-session setup shared by every test module."""

import os

# XLA's default CPU threading once deadlocked a vmapped run on a 2-core machine (DESIGN.md, Performance); this
# must be set before JAX is first imported.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")
