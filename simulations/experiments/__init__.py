"""Experiments: named, configurable units that run theory and tasks, make checks and draw figures.

They are built from one kit (:mod:`.kit`), listed in one catalogue (:mod:`.catalogue`, which imports them;
they never import it) and run, saved and redrawn by :mod:`.runner`.
"""
