"""Developer tools kept out of the service package: the service (`src/mso_flow`) never imports them."""
