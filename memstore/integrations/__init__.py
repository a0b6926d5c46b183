"""Drop-in memory for agent frameworks, over memstore's tables.

Every integration writes its rows through :mod:`memstore.integrations.codec`, so a
TypeScript ``@ai-sdk-tools/agents`` app reading the same tables sees the history.
"""
