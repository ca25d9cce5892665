"""Loopback fakes of remote services, importable by tests and by the benchmark scripts.

Each fake is a real HTTP server on ``127.0.0.1`` (an ephemeral port) so the adapters are
exercised through real sockets, headers, timeouts and retries. The GraphQL fakes execute
every request against the published schema in ``../shared/schemas`` with graphql-core, so
their answers have the real API's shape and cannot drift from it.
"""
