"""Data generators, numpy networks, trainers, experiments and the ``icl-dynamics`` command line."""
