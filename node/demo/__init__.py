"""The demos (in process and on a testnet) and the experiment definitions they run."""
