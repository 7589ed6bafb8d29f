//! The OpenAPI 3.1 document, generated from the endpoint declarations.
//! OpenAPI 3.1 schemas are JSON Schema 2020-12, which is what `schemars`
//! emits, so input and output types are described by their own derives.

use axum::http::Method;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::endpoint::{Access, Endpoint, TokenAccess};
use super::error::ErrorEnvelope;

const COMPONENTS: &str = "#/components/schemas/";

pub fn document<'a>(endpoints: impl IntoIterator<Item = &'a Endpoint>, base_url: &str) -> Value {
    let mut generator = SchemaSettings::draft2020_12().with(|s| s.definitions_path = COMPONENTS.into()).into_generator();
    let error_schema = generator.subschema_for::<ErrorEnvelope>().to_value();

    let mut paths = Map::new();
    for endpoint in endpoints {
        let operation = operation(endpoint, &mut generator, &error_schema);
        let item = paths.entry(endpoint.openapi_path()).or_insert_with(|| json!({}));
        item[endpoint.method.as_str().to_ascii_lowercase()] = operation;
    }

    let schemas = generator.take_definitions(true);
    let mut document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "flint",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Server functions live at /_fn/<name> (GET reads with query input, POST writes with a JSON body). Errors use one envelope: {\"error\": {\"code\", \"message\", \"fields\"?, \"retryAfterMs\"?, \"requestId\"}}."
        },
        "servers": [{"url": base_url.trim_end_matches('/')}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "flint_session",
                    "description": "Browser session (named __Host-flint_session on https)."},
                "apiToken": {"type": "http", "scheme": "bearer", "description": "API token from createApiToken."}
            }
        }
    });
    state_no_nul(&mut document);
    document
}

/// Every text input refuses U+0000 (see `extract.rs`); the schemas say so,
/// as a pattern on each string that has none of its own.
fn state_no_nul(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let is_string = match map.get("type") {
                Some(Value::String(t)) => t == "string",
                Some(Value::Array(types)) => types.iter().any(|t| t == "string"),
                _ => false,
            };
            if is_string && !map.contains_key("pattern") && !map.contains_key("enum") && !map.contains_key("const") {
                map.insert("pattern".into(), json!("^[^\\u0000]*$"));
            }
            map.values_mut().for_each(state_no_nul);
        }
        Value::Array(items) => items.iter_mut().for_each(state_no_nul),
        _ => {}
    }
}

fn operation(endpoint: &Endpoint, generator: &mut schemars::SchemaGenerator, error_schema: &Value) -> Value {
    let mut op = json!({
        "operationId": endpoint.name,
        "summary": endpoint.summary,
        "tags": if endpoint.tag.is_empty() { vec![] } else { vec![endpoint.tag] },
        "x-flint-access": format!("{:?}", endpoint.meta.access).to_lowercase(),
        "x-flint-cache": endpoint.effective_cache(),
    });

    let mut parameters = path_parameters(&endpoint.path);
    if let Some(input) = endpoint.input {
        let schema = input(generator).to_value();
        if endpoint.method == Method::GET || endpoint.input_in_query {
            parameters.extend(query_parameters(&schema, generator));
        } else {
            op["requestBody"] = json!({"required": true, "content": {endpoint.input_type: {"schema": schema}}});
        }
    }
    if !parameters.is_empty() {
        op["parameters"] = Value::Array(parameters);
    }

    let success = match endpoint.output {
        Some(output) => json!({"description": "Success", "content": {"application/json": {"schema": output(generator).to_value()}}}),
        None => json!({"description": "Success"}),
    };
    op["responses"] = if endpoint.page {
        // A page's own errors are pages; the guard's (rate limits, foreign
        // origins) are the JSON envelope, as everywhere.
        json!({
            "200": {"description": "The page", "content": {"text/html": {"schema": {"type": "string"}}}},
            "default": {
                "description": "The page saying what went wrong, or the error envelope",
                "content": {"text/html": {"schema": {"type": "string"}}, "application/json": {"schema": error_schema}}
            }
        })
    } else {
        json!({
            "200": success,
            "default": {"description": "Error envelope", "content": {"application/json": {"schema": error_schema}}}
        })
    };

    if endpoint.meta.access != Access::Public {
        // A session is optional where access is `Session`: the empty
        // requirement says the operation also answers anonymously.
        let mut security = match endpoint.meta.access {
            Access::Session => vec![json!({}), json!({"sessionCookie": []})],
            _ => vec![json!({"sessionCookie": []})],
        };
        match endpoint.meta.token {
            TokenAccess::Never => {}
            TokenAccess::Any => security.push(json!({"apiToken": []})),
            TokenAccess::Scope(scope) => {
                security.push(json!({"apiToken": [scope.as_str()]}));
                op["x-flint-scope"] = json!(scope.as_str());
            }
        }
        op["security"] = Value::Array(security);
    }
    op
}

/// The `{name}` segments of a route's path (at most one per route; see
/// `PathParam`): required, a non-empty string without `/` (with it, for a
/// trailing `{*name}`).
fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| match name.strip_prefix('*') {
            Some(name) => json!({"name": name, "in": "path", "required": true,
                   "schema": {"type": "string", "minLength": 1, "pattern": "^[^\\u0000]+$"}}),
            None => json!({"name": name, "in": "path", "required": true,
                   "schema": {"type": "string", "minLength": 1, "pattern": "^[^/\\u0000]+$"}}),
        })
        .collect()
}

/// One query parameter per property of the input object.
fn query_parameters(schema: &Value, generator: &schemars::SchemaGenerator) -> Vec<Value> {
    let resolved = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix(COMPONENTS))
        .and_then(|name| generator.definitions().get(name))
        .unwrap_or(schema);
    let required: Vec<&str> =
        resolved.get("required").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    resolved
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .map(|(name, prop)| json!({"name": name, "in": "query", "required": required.contains(&name.as_str()), "schema": prop}))
                .collect()
        })
        .unwrap_or_default()
}
