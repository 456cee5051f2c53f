"""The Salesforce connector: authentication, REST, SOAP and Bulk calls, error classification.

Built on httpx; the HTTP client is injectable, so the same code runs against a real org, the
emulator over a socket, or the emulator in-process.
"""
