"""Helpers shared by the tests of every app (fixtures live in the root conftest.py). A test module
imports from here, never from another test module (tests/test_test_layout.py)."""
