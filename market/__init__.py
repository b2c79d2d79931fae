"""The L4 market: orders, clearing mechanisms and pricing, forecasting and planning."""
