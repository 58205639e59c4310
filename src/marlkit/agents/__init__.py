"""Learners as pure (init, act, update, policy) functions over explicit state; ``tabular`` for exact games."""
