"""A local, faithful Salesforce org: REST, SOAP and Bulk 2.0 over an ASGI app and SQLite.

The sync engine never imports this package; only the CLI and the tests do.
"""
