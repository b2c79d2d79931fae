"""Rolling-horizon battery planning: the LP of one horizon and the controller that replans."""
