"""Prices for the gateway: litellm's bundled map plus the operator's file, and the hooks that
price ledger rows and answer /pricing."""
