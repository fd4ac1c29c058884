"""Markets and the stalls vendors hold in them."""
