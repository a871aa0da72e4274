//! The OpenAPI 3.1 description of the API, written by hand next to the handlers.

use serde_json::{Value, json};

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn protected(summary: &str, request: Option<Value>, ok: Value) -> Value {
    let mut op = json!({
        "summary": summary,
        "security": [{ "bearer": [] }],
        "parameters": [
            { "name": "X-Tenant-ID", "in": "header", "required": false, "schema": { "type": "string", "format": "uuid" },
              "description": "Compliance-company roles only: one of the caller's assigned companies; the caller's scope is narrowed to it. Also given by the subdomain `<tenant-slug>.<DERIQ_TENANT_BASE_DOMAIN>`; a header and a subdomain that disagree are a 403." },
            { "name": "Idempotency-Key", "in": "header", "required": false, "schema": { "type": "string", "maxLength": 255 },
              "description": "POST only: a retry with the same key and body within 24 hours returns the first response." },
            { "name": "X-Request-Id", "in": "header", "required": false, "schema": { "type": "string", "maxLength": 64 } }
        ],
        "responses": {
            "200": ok,
            "400": error_response("Malformed JSON, invalid UTF-8, bad header"),
            "401": error_response("Missing, expired, mis-signed or mis-addressed token; session timeout"),
            "403": error_response("Role may not use the module; tenant mismatch or a company not assigned to the caller; MFA required"),
            "404": error_response("Unknown conversation id (chat); unknown tenant subdomain"),
            "413": error_response("Body over the size limit"),
            "415": error_response("Body is not application/json"),
            "422": error_response("Missing or invalid fields; empty or too long question"),
            "429": error_response("Rate limit; see Retry-After"),
            "503": error_response("A dependency is down"),
            "504": error_response("A pipeline stage ran out of time; `error.stage` names it (drafter, database, retrieval)")
        }
    });
    if let Some(schema) = request {
        op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": schema } } });
    }
    op
}

/// The document served at `/openapi.json`.
pub fn document() -> Value {
    let modules = json!(["drug_alcohol", "background", "dot", "occupational_health", "training", "geo_fencing", "roster", "audit_reports"]);
    json!({
        "openapi": "3.1.0",
        "info": { "title": "DER IQ", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Plain-English questions over compliance data (scoped by role and tenant) and the regulations, with citations." },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT (HS256 with the shared secret, or RS256/ES256 with a key of the configured JWKS named by `kid`; claims sub, email, role, tenantId, iss, aud, iat, nbf, exp)" } },
            "schemas": {
                "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "object", "required": ["status", "code", "message"], "properties": {
                    "status": { "type": "integer" }, "code": { "type": "string" }, "message": { "type": "string" }, "hint": { "type": "string" }, "retry_after_seconds": { "type": "integer" }, "stage": { "type": "string" } } } } },
                "QueryRequest": { "type": "object", "required": ["question"], "additionalProperties": false, "properties": {
                    "question": { "type": "string", "minLength": 1, "maxLength": 2000 },
                    "drafter": { "type": "string", "enum": ["offline", "anthropic", "openai"] },
                    "module": { "type": "string", "enum": modules.clone() },
                    "export": { "type": "boolean", "description": "Rows as text/csv; full-tier roles need an `mfa` claim from the last 15 minutes" } } },
                "ChatRequest": { "type": "object", "required": ["message"], "additionalProperties": false, "properties": {
                    "conversation_id": { "type": "string", "format": "uuid" },
                    "message": { "type": "string", "minLength": 1, "maxLength": 2000 },
                    "drafter": { "type": "string", "enum": ["offline", "anthropic", "openai"] },
                    "module": { "type": "string", "enum": modules } } },
                "Answer": { "type": "object", "properties": {
                    "kind": { "type": "string", "enum": ["data", "regulatory", "mixed", "refused", "not_understood"] },
                    "sql": { "type": ["string", "null"] }, "drafted_sql": { "type": ["string", "null"] }, "explanation": { "type": ["string", "null"] },
                    "columns": { "type": "array", "items": { "type": "object" } }, "rows": { "type": "array", "items": { "type": "array" } },
                    "row_cap_applied": { "type": ["integer", "null"] }, "citations": { "type": "array", "items": { "$ref": "#/components/schemas/Citation" } },
                    "answer": { "type": "string" }, "reasons": { "type": "array" }, "attempts": { "type": "integer" }, "drafter": { "type": "string" },
                    "usage": { "type": "object" }, "request_id": { "type": "string" }, "timings_ms": { "type": "object" } } },
                "Citation": { "type": "object", "properties": { "citation": { "type": "string" }, "title": { "type": "string" }, "text": { "type": "string" }, "score": { "type": "number" } } },
                "SearchRequest": { "type": "object", "required": ["query"], "additionalProperties": false, "properties": {
                    "query": { "type": "string", "minLength": 1, "maxLength": 2000 }, "k": { "type": "integer", "minimum": 1, "maximum": 20, "description": "How many sections (default 5); each comes as its best passage followed by up to two more passages of the same section that score nearly as well" } } }
            }
        },
        "paths": {
            "/healthz": { "get": { "summary": "Liveness", "responses": { "200": { "description": "Up" } } } },
            "/readyz": { "get": { "summary": "Readiness: primary, replicas, drafter", "responses": { "200": { "description": "Ready" }, "503": { "description": "Not ready; the body names the failing check" } } } },
            "/metrics": { "get": { "summary": "Prometheus metrics", "responses": { "200": { "description": "Text exposition" } } } },
            "/openapi.json": { "get": { "summary": "This document", "responses": { "200": { "description": "OpenAPI 3.1" } } } },
            "/api/der-iq/query": { "post": protected("Answer one question", Some(json!({ "$ref": "#/components/schemas/QueryRequest" })),
                json!({ "description": "The answer, as `deriq ask --json` prints it", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Answer" } } } })) },
            "/api/der-iq/search": { "post": protected("Search the regulations", Some(json!({ "$ref": "#/components/schemas/SearchRequest" })),
                json!({ "description": "Passages with citations", "content": { "application/json": { "schema": { "type": "object", "properties": { "results": { "type": "array", "items": { "$ref": "#/components/schemas/Citation" } } } } } } })) },
            "/api/der-iq/chat": { "post": protected("A conversation turn (follow-ups refine the conversation cumulatively); `Accept: text/event-stream` streams, as the pipeline runs, conversation, status ({step, done: false} at a step's start, {step, ms, done: true} at its end), sql, then after the audit record rows, answer_delta chunks, answer, citations and timings events (an error event on failure)", Some(json!({ "$ref": "#/components/schemas/ChatRequest" })),
                json!({ "description": "`{conversation_id, answer}`, or an event stream", "content": { "application/json": { "schema": { "type": "object" } }, "text/event-stream": { "schema": { "type": "string" } } } })) },
            "/api/der-iq/schema": { "get": protected("What the caller may ask about", None, json!({ "description": "Modules, tables and visible columns" })) }
        }
    })
}
