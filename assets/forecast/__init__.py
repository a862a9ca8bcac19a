"""Forecasting (issue 10): daily load forecasts (P10/P50/P90) and their rolling-origin
backtest."""
