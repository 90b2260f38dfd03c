"""Business transactions: every state change goes through here, authorized and audited."""
