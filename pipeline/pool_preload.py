"""Imported by the pool's fork server only (multiprocessing preloads modules there by name):
the workers it forks start with extraction's modules and data loaded."""

from pipeline.pool import warm_up

warm_up()
