"""Price and sales forecasts with intervals, chosen per series by rolling-origin backtest."""
