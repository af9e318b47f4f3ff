"""Access control for the whole API: principals (people and systems), API keys, OAuth2 bearer
tokens, roles with store and own-data scopes, the route policy, and the audit log."""
