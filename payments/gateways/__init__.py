"""Card gateways: an interface, a Stripe implementation and a deterministic fake."""
