//! Completing the OpenAPI document with what every operation shares, so that each operation
//! lists exactly the problems it can answer with: those its handler declares (`problems!`), and
//! those that follow from its shape (a token, a body, a query, `If-Match`, `Idempotency-Key`),
//! each error response naming its problem types in a `type` enum. Also the `servers` entry and
//! the webhooks the API posts.

use std::collections::{BTreeMap, BTreeSet};

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{AdditionalProperties, AllOfBuilder, ObjectBuilder, Type};
use utoipa::openapi::server::Server;
use utoipa::openapi::{ContentBuilder, HeaderBuilder, OpenApi, Ref, RefOr, Schema};

use crate::ProblemType;

/// Adds the problems each operation meets because of its shape, names every error response's
/// problem types, and adds the `servers` entry and the `webhooks` section.
pub fn complete(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        let operations = [
            item.get.as_mut(),
            item.put.as_mut(),
            item.post.as_mut(),
            item.delete.as_mut(),
            item.patch.as_mut(),
        ];
        for operation in operations.into_iter().flatten() {
            complete_operation(operation);
            for parameter in operation.parameters.iter_mut().flatten() {
                if let (Some(pattern), Some(RefOr::T(Schema::Object(object)))) =
                    (named_pattern(&parameter.name), parameter.schema.as_mut())
                {
                    if object.pattern.is_none() && object.enum_values.is_none() {
                        object.pattern = Some(pattern);
                    }
                }
                let (plain, dates) = match parameter.parameter_in {
                    ParameterIn::Path => (PLAIN_SEGMENT, false),
                    ParameterIn::Query => (PLAIN_QUERY, true),
                    _ => continue,
                };
                if let Some(RefOr::T(schema)) = parameter.schema.as_mut() {
                    bound_text(schema, plain, dates);
                    // A path or query string refuses tab and line breaks, which a body's text
                    // may hold around a value.
                    if let Schema::Object(object) = schema {
                        if let Some(pattern) = object.pattern.as_mut() {
                            *pattern = pattern.replace(
                                hubbook_core::control::SPACE,
                                hubbook_core::control::URL_SPACE,
                            );
                        }
                    }
                }
            }
        }
    }
    if let Some(components) = doc.components.as_mut() {
        for (name, schema) in components.schemas.iter_mut() {
            // A problem's detail may quote what the caller sent; every other text the server
            // sends back was read under these rules.
            if name.ends_with("Problem") {
                continue;
            }
            if let RefOr::T(schema) = schema {
                bound_members(schema, 0);
            }
        }
    }
    doc.servers = Some(vec![Server::builder()
        .url("/")
        .description(Some(
            "The server that serves this document: every path starts at its root.",
        ))
        .build()]);
    let extensions = doc.extensions.get_or_insert_with(Default::default);
    extensions.insert("webhooks".to_owned(), webhooks());
}

/// What a path segment or query value may hold where nothing narrower is said: no C0 control
/// character or DEL, which the server refuses in any path or query string (`invalid-text`,
/// `hubbook_core::control::in_percent_encoded`).
const PLAIN_SEGMENT: &str = r"^[^\u0000-\u001F\u007F]+$";

/// What a query value may hold where nothing narrower is said: as [`PLAIN_SEGMENT`], or nothing.
const PLAIN_QUERY: &str = r"^[^\u0000-\u001F\u007F]*$";

/// What a text in a body may hold where nothing narrower is said: no C0 control character but
/// tab, line feed and carriage return, and no DEL, as the server refuses
/// (`hubbook_core::control::refused`). A name or note says more (no C1 control either).
const PLAIN_TEXT: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$";

/// The years a date in a query may fall in (`check_date`): 2000 to 2100.
const QUERY_DATE: &str = r"^(20[0-9]{2}|2100)-";

/// The pattern of a parameter known by its name wherever it appears: the same rules the server
/// reads it with.
fn named_pattern(name: &str) -> Option<String> {
    let kinds = hubbook_store::repo::events::KINDS
        .iter()
        .map(|k| k.replace('.', "\\."))
        .collect::<Vec<_>>()
        .join("|");
    match name {
        "Idempotency-Key" => Some(crate::extract::IDEMPOTENCY_KEY_PATTERN.to_owned()),
        "cursor" => Some(crate::extract::CURSOR_PATTERN.to_owned()),
        // The event feed's position: a sequence number; empty is the start, as when absent.
        "after" => Some("^[0-9]{0,18}$".to_owned()),
        "practice" | "registered_practice" => {
            Some(hubbook_core::practice::ODS_CODE_PATTERN.to_owned())
        }
        // Comma-separated, each trimmed, empty ones ignored.
        "types" => {
            let s = hubbook_core::control::SPACE;
            Some(format!("^{s}*({kinds})?{s}*(,{s}*({kinds})?{s}*)*$"))
        }
        _ => None,
    }
}

/// Gives a text schema with no pattern, enum or format the pattern `plain`, and a date in a query
/// the years the server takes.
fn bound_text(schema: &mut Schema, plain: &str, dates: bool) {
    let Schema::Object(object) = schema else {
        return;
    };
    let text = match &object.schema_type {
        utoipa::openapi::schema::SchemaType::Type(Type::String) => true,
        // An optional text: `["string", "null"]`.
        utoipa::openapi::schema::SchemaType::Array(types) => types.contains(&Type::String),
        _ => false,
    };
    if !text || object.pattern.is_some() || object.enum_values.is_some() {
        return;
    }
    match &object.format {
        None => object.pattern = Some(plain.to_owned()),
        Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Date))
            if dates =>
        {
            object.pattern = Some(QUERY_DATE.to_owned());
        }
        Some(_) => {}
    }
}

/// Bounds every plain text member of a body schema, at any depth.
fn bound_members(schema: &mut Schema, depth: usize) {
    if depth > 16 {
        return;
    }
    match schema {
        Schema::Object(object) => {
            for member in object.properties.values_mut() {
                if let RefOr::T(member) = member {
                    bound_text(member, PLAIN_TEXT, false);
                    bound_members(member, depth + 1);
                }
            }
        }
        Schema::Array(array) => {
            if let utoipa::openapi::schema::ArrayItems::RefOrSchema(items) = &mut array.items {
                if let RefOr::T(items) = items.as_mut() {
                    bound_text(items, PLAIN_TEXT, false);
                    bound_members(items, depth + 1);
                }
            }
        }
        Schema::OneOf(one) => {
            for item in &mut one.items {
                if let RefOr::T(item) = item {
                    bound_members(item, depth + 1);
                }
            }
        }
        Schema::AllOf(all) => {
            for item in &mut all.items {
                if let RefOr::T(item) = item {
                    bound_members(item, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// The methods each path of the document has, so that a method a path lacks is answered 405
/// with `Allow` rather than 404.
#[derive(Debug, Clone, Default)]
pub struct Methods(Vec<(Vec<String>, Vec<&'static str>)>);

impl Methods {
    /// The paths of `doc` (templates such as `/api/v1/clusters/{code}`) with their methods.
    pub fn of(doc: &OpenApi) -> Self {
        let paths = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ]
                .into_iter()
                .filter_map(|(method, has)| has.then_some(method))
                .collect();
                (segments(path).map(str::to_owned).collect(), methods)
            })
            .collect();
        Self(paths)
    }

    /// The methods a request path has, if it is a path of the document.
    pub fn allowed(&self, path: &str) -> Option<Vec<&'static str>> {
        let wanted: Vec<&str> = segments(path).collect();
        let mut methods: Vec<&'static str> = Vec::new();
        let mut found = false;
        for (template, of_template) in &self.0 {
            let matches = template.len() == wanted.len()
                && template.iter().zip(&wanted).all(|(t, w)| {
                    (t.starts_with('{') && t.ends_with('}') && !w.is_empty()) || t == w
                });
            if matches {
                found = true;
                for method in of_template {
                    if !methods.contains(method) {
                        methods.push(method);
                    }
                }
            }
        }
        found.then_some(methods)
    }
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.trim_end_matches('/').split('/').skip(1)
}

/// The schemas of the document's components, to hold a request body to the shape its schema
/// gives before serde reads it: serde reads a JSON array as a struct's fields in order, which no
/// client means.
#[derive(Clone, Default)]
pub struct Shapes(BTreeMap<String, RefOr<Schema>>);

impl Shapes {
    /// The component schemas of `doc`.
    pub fn of(doc: &OpenApi) -> Self {
        Self(
            doc.components
                .as_ref()
                .map(|c| c.schemas.clone().into_iter().collect())
                .unwrap_or_default(),
        )
    }

    /// Where `value` has an array or a scalar where the schema named `name` has an object (or an
    /// object where it has an array), in words; `None` when the shapes agree as far as they go.
    pub fn mismatch(&self, name: &str, value: &serde_json::Value) -> Option<String> {
        let schema = self.0.get(name)?;
        self.walk(schema, value, "the body", 0)
    }

    fn walk(
        &self,
        schema: &RefOr<Schema>,
        value: &serde_json::Value,
        at: &str,
        depth: usize,
    ) -> Option<String> {
        if depth > 16 {
            return None;
        }
        let schema = match schema {
            RefOr::Ref(reference) => {
                let name = reference.ref_location.rsplit('/').next()?;
                return self.walk(self.0.get(name)?, value, at, depth + 1);
            }
            RefOr::T(schema) => schema,
        };
        match schema {
            Schema::Object(object) => {
                let is_object = matches!(
                    &object.schema_type,
                    utoipa::openapi::schema::SchemaType::Type(Type::Object)
                ) || !object.properties.is_empty();
                if !is_object {
                    return None;
                }
                let Some(members) = value.as_object() else {
                    return (!value.is_null()).then(|| format!("{at} must be a JSON object"));
                };
                let closed = matches!(
                    object.additional_properties.as_deref(),
                    Some(AdditionalProperties::FreeForm(false))
                );
                if closed {
                    if let Some(unknown) = members
                        .keys()
                        .find(|name| !object.properties.contains_key(*name))
                    {
                        return Some(format!("{at} has no member `{unknown}`"));
                    }
                }
                object.properties.iter().find_map(|(name, property)| {
                    let member = members.get(name)?;
                    self.walk(property, member, &format!("`{name}`"), depth + 1)
                })
            }
            // An optional reference (`null` or the shape), or a shape tagged by `kind`: held to
            // the shape referenced, or to the variant its kind names.
            Schema::OneOf(one_of) => {
                let kind = value.get("kind").and_then(|k| k.as_str());
                one_of.items.iter().find_map(|item| match item {
                    RefOr::Ref(_) if !value.is_null() => self.walk(item, value, at, depth + 1),
                    RefOr::T(Schema::Object(object))
                        if kind.is_some_and(|kind| {
                            matches!(object.properties.get("kind"), Some(RefOr::T(Schema::Object(k)))
                                if k.enum_values.as_ref().is_some_and(|e| e.iter().any(|v| v == kind)))
                        }) =>
                    {
                        self.walk(item, value, at, depth + 1)
                    }
                    _ => None,
                })
            }
            Schema::Array(array) => {
                let items = value.as_array()?;
                let item_schema = match &array.items {
                    utoipa::openapi::schema::ArrayItems::RefOrSchema(s) => s.as_ref(),
                    utoipa::openapi::schema::ArrayItems::False => return None,
                };
                items.iter().find_map(|item| {
                    self.walk(item_schema, item, &format!("an item of {at}"), depth + 1)
                })
            }
            _ => None,
        }
    }
}

/// The problems an operation of this shape can meet whatever its handler does.
pub fn shape_problems(operation: &Operation) -> BTreeSet<ProblemType> {
    use ProblemType as P;
    let mut kinds = BTreeSet::from([P::InvalidText, P::InternalError]);
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    if secured {
        kinds.extend([P::InvalidToken, P::Forbidden]);
    }
    if secured || operation.request_body.is_some() {
        // Every such operation reads the database.
        kinds.insert(P::ServiceBusy);
    }
    if operation.request_body.is_some() {
        kinds.extend([
            P::MalformedJson,
            P::InvalidBody,
            P::InvalidValue,
            P::PayloadTooLarge,
            P::UnsupportedMediaType,
        ]);
    }
    for parameter in operation.parameters.iter().flatten() {
        let required = matches!(parameter.required, utoipa::openapi::Required::True);
        match (&parameter.parameter_in, parameter.name.as_str()) {
            (ParameterIn::Query, _) => {
                kinds.extend([P::InvalidQuery, P::InvalidValue]);
            }
            (ParameterIn::Header, "If-Match") => {
                kinds.insert(P::PreconditionFailed);
                if required {
                    kinds.insert(P::PreconditionRequired);
                }
            }
            (ParameterIn::Header, "Idempotency-Key") => {
                kinds.extend([P::InvalidIdempotencyKey, P::IdempotencyKeyReused]);
                if required {
                    kinds.insert(P::IdempotencyKeyRequired);
                }
            }
            _ => {}
        }
    }
    kinds
}

fn complete_operation(operation: &mut Operation) {
    let mut by_status: BTreeMap<String, (BTreeSet<ProblemType>, Option<Ref>)> = BTreeMap::new();
    for (status, response) in &operation.responses.responses {
        if let RefOr::T(response) = response {
            if let Some((kinds, base)) = declared(response) {
                by_status.insert(status.clone(), (kinds, base));
            }
        }
    }
    for kind in shape_problems(operation) {
        let status = kind.status().as_u16().to_string();
        if operation
            .responses
            .responses
            .get(&status)
            .is_some_and(|r| !matches!(r, RefOr::T(r) if declared(r).is_some()))
        {
            // A status the operation answers with something other than a problem.
            continue;
        }
        by_status.entry(status).or_default().0.insert(kind);
    }
    for (status, (kinds, base)) in by_status {
        let kinds: Vec<ProblemType> = kinds.into_iter().collect();
        operation
            .responses
            .responses
            .insert(status, RefOr::T(problem_response(&kinds, base)));
    }
}

/// The problem types an error response names, and the schema it extends when that is not the
/// plain `Problem` (a problem with more members): `None` when it is not a problem response.
fn declared(response: &Response) -> Option<(BTreeSet<ProblemType>, Option<Ref>)> {
    let content = response.content.get("application/problem+json")?;
    let mut kinds = BTreeSet::new();
    let mut base = None;
    match &content.schema {
        Some(RefOr::Ref(reference)) if !reference.ref_location.ends_with("/Problem") => {
            base = Some(reference.clone());
        }
        Some(RefOr::T(Schema::AllOf(all))) => {
            for item in &all.items {
                match item {
                    RefOr::Ref(reference) if !reference.ref_location.ends_with("/Problem") => {
                        base = Some(reference.clone());
                    }
                    RefOr::T(Schema::Object(object)) => {
                        if let Some(RefOr::T(Schema::Object(kind))) = object.properties.get("type")
                        {
                            kinds.extend(
                                kind.enum_values
                                    .iter()
                                    .flatten()
                                    .filter_map(|v| v.as_str())
                                    .filter_map(ProblemType::from_code),
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    // A hand-written response names its kinds in backticks in its description.
    kinds.extend(
        response
            .description
            .split('`')
            .skip(1)
            .step_by(2)
            .filter_map(ProblemType::from_code),
    );
    Some((kinds, base))
}

/// The error response of one status: its kinds and what each means, a schema whose `type` is one
/// of them, and `Retry-After` where the kinds say when to come back.
pub fn problem_response(kinds: &[ProblemType], base: Option<Ref>) -> Response {
    let lines: Vec<String> = kinds
        .iter()
        .map(|k| format!("`{}`: {}", k.as_str(), k.meaning()))
        .collect();
    let type_enum = ObjectBuilder::new()
        .property(
            "type",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(kinds.iter().map(|k| k.as_str()))),
        )
        .required("type");
    let schema = AllOfBuilder::new()
        .item(RefOr::Ref(
            base.unwrap_or_else(|| Ref::from_schema_name("Problem")),
        ))
        .item(type_enum)
        .build();
    let mut response = ResponseBuilder::new()
        .description(lines.join("\n\n"))
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(RefOr::T(Schema::AllOf(schema))))
                .build(),
        );
    let comes_back = kinds
        .iter()
        .any(|k| matches!(k.status().as_u16(), 429 | 503));
    if comes_back {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0)),
                )
                .description(Some("Seconds to wait before trying again."))
                .build(),
        );
    }
    response.build()
}

/// The `webhooks` section: what a webhook receives for each event of the feed, and how to check
/// that hubbook sent it.
fn webhooks() -> serde_json::Value {
    let header = |name: &str, description: &str| {
        serde_json::json!({
            "name": name,
            "in": "header",
            "required": true,
            "description": description,
            "schema": {"type": "string"},
        })
    };
    serde_json::json!({
        "event": {
            "post": {
                "summary": "One event of the cluster's feed, posted to each active webhook that takes its type",
                "description": "Events are posted one at a time, in the order of the feed (`seq`), each until the receiver answers 2xx; a failure is retried after a doubling wait (from the server's `HUBBOOK_WEBHOOK_BACKOFF_MS` up to an hour) and later events wait behind it. An event may be posted more than once (after a timeout, or when a server stops mid-delivery): deduplicate on `Hubbook-Event-Id`. The same events are readable from `GET /api/v1/clusters/{code}/events`.",
                "operationId": "receiveEvent",
                "parameters": [
                    header("Hubbook-Event-Id", "The event's id, the same on every retry: deduplicate on it."),
                    header("Hubbook-Event-Type", "The event's type, as in the body's `type`."),
                    {
                        "name": "Hubbook-Signature",
                        "in": "header",
                        "required": true,
                        "description": "`t=<unix seconds>,v1=<hex>`: HMAC-SHA256 keyed with the webhook's secret (shown once when it was created) over the ASCII timestamp, a full stop and the raw body. Recompute it, compare in constant time, and refuse a timestamp more than five minutes from your clock.",
                        "schema": {"type": "string", "pattern": "^t=[0-9]+,v1=[0-9a-f]{64}$"}
                    },
                    {
                        "name": "User-Agent",
                        "in": "header",
                        "required": true,
                        "schema": {"type": "string", "enum": ["hubbook-webhooks"]}
                    }
                ],
                "requestBody": {
                    "required": true,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EventView"}}}
                },
                "responses": {
                    "2XX": {"description": "Taken: the next event follows."},
                    "default": {"description": "Not taken: posted again after the back-off."}
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operation(path: &str, method: &str) -> serde_json::Value {
        let doc = serde_json::to_value(crate::openapi()).expect("the document serialises");
        doc["paths"][path][method].clone()
    }

    fn kinds(operation: &serde_json::Value, status: &str) -> Vec<String> {
        operation["responses"][status]["content"]["application/problem+json"]["schema"]["allOf"][1]
            ["properties"]["type"]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("no {status} problem types in {operation}"))
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn an_operation_lists_what_its_shape_and_its_handler_can_answer() {
        let update = operation("/api/v1/clusters/{code}/practices/{id}", "patch");
        assert_eq!(kinds(&update, "401"), ["invalid-token"]);
        assert_eq!(kinds(&update, "403"), ["forbidden"]);
        assert_eq!(kinds(&update, "412"), ["precondition-failed"]);
        assert_eq!(kinds(&update, "428"), ["precondition-required"]);
        assert!(kinds(&update, "400").contains(&"malformed-json".to_owned()));
        assert!(kinds(&update, "422").contains(&"invalid-list-size".to_owned()));
        assert!(update["responses"]["503"]["headers"]["Retry-After"].is_object());
        let token = operation("/api/v1/auth/token", "post");
        assert!(token["responses"].get("403").is_none(), "no token, no 403");
        assert!(kinds(&token, "401").contains(&"invalid-credentials".to_owned()));
    }

    #[test]
    fn a_path_knows_its_methods() {
        let methods = Methods::of(&crate::openapi());
        assert_eq!(
            methods.allowed("/api/v1/clusters/ABC/practices/p1"),
            Some(vec!["GET", "PATCH"])
        );
        assert_eq!(methods.allowed("/health/ready"), Some(vec!["GET"]));
        assert_eq!(methods.allowed("/api/v1/nothing-here"), None);
        assert_eq!(methods.allowed("/api/v1/clusters//practices/p1"), None);
    }

    #[test]
    fn every_problem_type_is_named_by_some_operation() {
        let doc = serde_json::to_value(crate::openapi()).expect("the document serialises");
        let text = doc["paths"].to_string();
        let unnamed: Vec<&str> = ProblemType::ALL
            .iter()
            .map(|k| k.as_str())
            .filter(|code| !text.contains(&format!("\"{code}\"")))
            .filter(|code| *code != ProblemType::MethodNotAllowed.as_str())
            .collect();
        assert!(unnamed.is_empty(), "named by no operation: {unnamed:?}");
    }
}
