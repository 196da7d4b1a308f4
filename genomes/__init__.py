"""Genome types, their phenotypes, graphs and exports."""
