"""The HTTP core: path building, the retry policy on urllib3, and the transport."""
