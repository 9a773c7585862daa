"""Training: clip sources (video and simulated from static images) and the training engine."""
