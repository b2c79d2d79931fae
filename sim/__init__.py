"""The L2 physical side: microgrid physics, signing meters, scenarios, the federation bus."""
