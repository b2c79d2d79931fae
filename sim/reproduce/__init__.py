"""`gridledger reproduce <study>`: a published study's tables and figures beside ours.

``energytwin`` (``sim.reproduce.energytwin``) and ``fedmgdt`` (``sim.reproduce.fedmgdt``) run
from the simulator alone; docs/reproductions.md explains each difference.
"""
