"""Quantile forecasts of load and PV (random forest), their error metrics and scenario tree."""
