"""Secrets the test app is configured with; the webhooks tests sign with them."""

TEST_SECRETS = {
    "SECRET_KEY": "test",
    "SEPAY_API_KEY": "test-sepay-key",
    "CASSO_WEBHOOK_KEY": "test-casso-key",
    "SIMBANK_WEBHOOK_SECRET": "test-simbank-secret",
    "STRIPE_WEBHOOK_SECRETS": ["whsec_test_rotated_out", "whsec_test"],
}
