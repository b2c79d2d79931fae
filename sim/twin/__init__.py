"""The consumer digital twin of the LEM-CDT study: preferences (AHP), load and thermal
flexibility, thermal comfort (PMV/PPD) and a dwelling's RC model, and the day-ahead
chance-constrained scheduler. Imports nothing from ``node``."""
