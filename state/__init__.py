"""The vocabulary and the store: specs, settings, errors, tables and store functions."""
