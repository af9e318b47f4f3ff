"""The OpenAPI document declares how to sign in and the problem+json answers of every
operation (the fuzz test holds the server to them)."""

from __future__ import annotations

from pathlib import Path

from tests.api.test_input_bounds import openapi

PROBLEM = {"schema": {"$ref": "#/components/schemas/Problem"}}


def test_security_schemes_and_problem_answers_are_declared(tmp_path: Path) -> None:
    doc = openapi(tmp_path)
    schemes = doc["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["OAuth2"]["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"
    assert "Problem" in doc["components"]["schemas"]
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            name = f"{method.upper()} {path}"
            responses = operation["responses"]
            assert responses["422"]["content"] == {"application/problem+json": PROBLEM}, name
            if "requestBody" in operation:
                assert "413" in responses, name
            if not path.startswith("/api/v1"):
                continue
            public = {
                "/api/v1/health",
                "/api/v1/auth/token",
                "/api/v1/auth/password-reset",
                "/api/v1/auth/password-reset/request",
                # support: the chat token or the webhook's signature is the credential
                "/api/v1/support/webhooks/inbound",
                "/api/v1/support/chats",
                "/api/v1/support/chats/{token}/messages",
                "/api/v1/support/chats/{token}/events",
                # the assistant: an order's details only with its number and email
                "/api/v1/support/assistant",
            }
            if path in public:
                assert operation["security"] == [], name
                assert "403" not in responses, name
                if path == "/api/v1/auth/token":  # wrong credentials, and throttling
                    assert {"401", "429"} <= set(responses), name
            else:
                assert operation["security"] == [{"ApiKey": []}, {"OAuth2": []}], name
                for status in ("401", "403", "404"):
                    assert responses[status]["content"] == {"application/problem+json": PROBLEM}, (
                        name,
                        status,
                    )
