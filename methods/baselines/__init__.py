"""Weight-free baselines: ``first-frame`` (the floor) and ``flow`` (optical-flow propagation)."""
