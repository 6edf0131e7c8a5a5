"""Simulator fixture (filled in)."""
