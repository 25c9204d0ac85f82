"""Interfaces: the icl-dynamics command line, sweeps and the report."""
