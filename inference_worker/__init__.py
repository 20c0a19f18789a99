"""The inference worker: readings in, predictions, alerts and rejections out."""
