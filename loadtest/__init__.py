"""Load tests: Locust users that behave like the simulator's people, and the runner around them."""
