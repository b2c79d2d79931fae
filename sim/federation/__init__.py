"""The federation bus (L6): the simulator and its federates in lockstep over ZMQ.

``protocol`` defines the versioned messages, ``bus`` is the simulator's adapter (ROUTER),
``federate`` the federates' (DEALER) and the policies gridledger ships, ``session`` the
lockstep driver. The model (``sim.model``) knows nothing of any of this.
"""
