"""Answer GraphQL requests by executing them against a published schema (graphql-core).

Resolvers are plain Python objects (graphql-core's default resolver reads attributes and
calls methods with the field arguments), so a fake service is a small in-memory world plus
one object per GraphQL type it serves. Whatever the resolvers return is serialised through
the schema: a wrong type, a missing non-null field or a bad enum value is an execution
error, recorded in ``unexpected`` so tests can assert the fake never drifted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    execute_sync,
    parse,
    validate,
)

from fakes.loopback import Reply, Request


class ServiceError(Exception):
    """An error the real API would answer with (not found, invalid input)."""

    def __init__(self, message: str, type: str | None = None,
                 extensions: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.type = type
        self.extensions = extensions


def connection(items: list[Any], first: int | None, after: str | None,
               max_first: int, default_first: int) -> dict[str, Any]:
    """A Relay connection page over ``items``; cursors are positions."""
    size = default_first if first is None else first
    if size < 0 or size > max_first:
        raise ServiceError(f"first must be between 0 and {max_first} (got {size})",
                           type="INVALID_ARGUMENTS")
    start = int(after) + 1 if after else 0
    page = items[start : start + size]
    end = start + len(page) - 1
    return {
        "nodes": page,
        "edges": [{"node": node, "cursor": str(start + i)} for i, node in enumerate(page)],
        "totalCount": len(items),
        "pageInfo": {
            "hasNextPage": start + len(page) < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": str(start) if page else None,
            "endCursor": str(end) if page else None,
        },
    }


class GraphQLService:
    """A request handler for ``LoopbackServer`` that executes against ``schema``."""

    def __init__(self, schema: GraphQLSchema, root: Any, token_header: str,
                 type_resolver: Callable[..., Any] | None = None,
                 error_status: int = 200) -> None:
        self.schema = schema
        self.root = root
        self.token_header = token_header
        self.type_resolver = type_resolver
        self.error_status = error_status
        self.documents: list[str] = []
        self.invalid: list[tuple[str, list[str]]] = []
        self.unexpected: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Reply:
        if request.headers.get("authorization") != self.token_header:
            return Reply(401, {"message": "Bad credentials"})
        try:
            payload = request.json()
        except ValueError:
            return Reply(400, {"errors": [{"message": "request body is not JSON"}]})
        query = payload.get("query", "")
        variables = payload.get("variables") or {}
        with self._lock:  # one writer at a time, like a real service's transaction
            self.documents.append(query)
            try:
                document = parse(query)
            except GraphQLSyntaxError as exc:
                self.invalid.append((query, [exc.message]))
                return Reply(self.error_status, {"errors": [exc.formatted]})
            problems = validate(self.schema, document)
            if problems:
                self.invalid.append((query, [p.message for p in problems]))
                return Reply(self.error_status, {"errors": [p.formatted for p in problems]})
            result = execute_sync(self.schema, document, root_value=self.root,
                                  variable_values=variables,
                                  operation_name=payload.get("operationName"),
                                  type_resolver=self.type_resolver)
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [self._format(error) for error in result.errors]
        return Reply(200, body)

    def _format(self, error: GraphQLError) -> dict[str, Any]:
        formatted = dict(error.formatted)
        original = error.original_error
        if isinstance(original, ServiceError):
            if original.type:
                formatted["type"] = original.type
            if original.extensions:
                formatted["extensions"] = original.extensions
        else:
            self.unexpected.append(error.message)
        return formatted
