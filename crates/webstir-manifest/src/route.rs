use serde::{Deserialize, Serialize};

/// HTTP methods a route may declare (uppercase in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
    /// `OPTIONS`
    Options,
}

impl HttpMethod {
    /// Every method, in the order the reference lists them.
    pub const ALL: [HttpMethod; 7] = [
        Self::Get,
        Self::Head,
        Self::Post,
        Self::Put,
        Self::Patch,
        Self::Delete,
        Self::Options,
    ];

    /// The uppercase method name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Options => "OPTIONS",
        }
    }

    /// Parse a method name (trimmed, any case).
    ///
    /// ```
    /// use webstir_manifest::HttpMethod;
    /// assert_eq!(HttpMethod::parse(" post "), Some(HttpMethod::Post));
    /// assert_eq!(HttpMethod::parse("FOO"), None);
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        let upper = text.trim().to_ascii_uppercase();
        Self::ALL.into_iter().find(|m| m.as_str() == upper)
    }
}

impl std::fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Kind of a schema reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SchemaKind {
    /// A zod schema (the default in the original contract).
    #[default]
    Zod,
    /// A JSON schema.
    JsonSchema,
    /// A ts-rest contract.
    TsRest,
}

/// A reference to a named schema: `{kind, name, source?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaReference {
    /// Schema kind.
    #[serde(default)]
    pub kind: SchemaKind,
    /// Schema name.
    pub name: String,
    /// Where the schema lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl SchemaReference {
    /// Parse the CLI string form `kind:name@source` (`kind:` optional, defaults to zod; `@source` optional).
    ///
    /// ```
    /// use webstir_manifest::{SchemaReference, SchemaKind};
    /// let r = SchemaReference::parse("json-schema:Account@schemas/account.json").unwrap();
    /// assert_eq!(r.kind, SchemaKind::JsonSchema);
    /// assert_eq!(r.name, "Account");
    /// assert_eq!(r.source.as_deref(), Some("schemas/account.json"));
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (kind, rest) = match text.split_once(':') {
            Some(("zod", rest)) => (SchemaKind::Zod, rest),
            Some(("json-schema", rest)) => (SchemaKind::JsonSchema, rest),
            Some(("ts-rest", rest)) => (SchemaKind::TsRest, rest),
            _ => (SchemaKind::Zod, text),
        };
        let (name, source) = match rest.split_once('@') {
            Some((name, source)) => (name.trim(), Some(source.trim().to_owned())),
            None => (rest.trim(), None),
        };
        if name.is_empty() {
            return None;
        }
        Some(Self {
            kind,
            name: name.to_owned(),
            source: source.filter(|s| !s.is_empty()),
        })
    }
}

/// Route interaction style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interaction {
    /// Navigation (GET-like).
    Navigation,
    /// Mutation (form post).
    Mutation,
}

/// Session requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionMode {
    /// A session is loaded if present.
    Optional,
    /// A session must exist.
    Required,
}

/// Session options of a route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionSpec {
    /// Requirement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<SessionMode>,
    /// Whether the route writes the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<bool>,
}

/// A flash message a route publishes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FlashPublish {
    /// Message key.
    pub key: String,
    /// `info`, `success`, `warning` or `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// `always`, `success` or `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
}

/// Flash options of a route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FlashSpec {
    /// Keys consumed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consume: Vec<String>,
    /// Messages published.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub publish: Vec<FlashPublish>,
}

/// Content type a form route accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FormContentType {
    /// `application/x-www-form-urlencoded`
    #[serde(rename = "application/x-www-form-urlencoded")]
    UrlEncoded,
    /// `multipart/form-data`
    #[serde(rename = "multipart/form-data")]
    Multipart,
    /// `text/plain`
    #[serde(rename = "text/plain")]
    TextPlain,
}

/// Form options of a route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FormSpec {
    /// Accepted content type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<FormContentType>,
    /// Whether a CSRF token is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf: Option<bool>,
    /// Session options for the form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionSpec>,
    /// Flash options for the form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flash: Option<FlashSpec>,
}

/// How a fragment is applied to the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FragmentMode {
    /// Replace the target.
    Replace,
    /// Append to the target.
    Append,
    /// Prepend to the target.
    Prepend,
}

impl FragmentMode {
    /// The lowercase name used in headers and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Replace => "replace",
            Self::Append => "append",
            Self::Prepend => "prepend",
        }
    }
}

/// Fragment options of a route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FragmentSpec {
    /// Target element id.
    pub target: String,
    /// CSS selector within the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// How to apply it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<FragmentMode>,
}

/// Input schemas of a route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteInput {
    /// Path params schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<SchemaReference>,
    /// Query schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<SchemaReference>,
    /// Body schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<SchemaReference>,
    /// Headers schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<SchemaReference>,
}

/// Redirect details of a response variant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedirectSpec {
    /// 301, 302, 303, 307 or 308.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Target location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// One response variant: a body, a redirect or a fragment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResponseSpec {
    /// Status code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Headers schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<SchemaReference>,
    /// Body schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<SchemaReference>,
    /// Redirect details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<RedirectSpec>,
    /// Fragment details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fragment: Option<FragmentSpec>,
}

/// Output of a route: one variant (flattened) or a list of `responses`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteOutput {
    /// Status code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Headers schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<SchemaReference>,
    /// Body schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<SchemaReference>,
    /// Redirect details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<RedirectSpec>,
    /// Fragment details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fragment: Option<FragmentSpec>,
    /// Alternative response variants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responses: Option<Vec<ResponseSpec>>,
}

/// Stable error codes a route may declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Bad input.
    Validation,
    /// Missing or bad credentials.
    Auth,
    /// Not found.
    NotFound,
    /// Domain rule broken.
    Domain,
    /// Conflict.
    Conflict,
    /// Internal error.
    Internal,
}

/// An error a route declares it may return.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorSpec {
    /// Error code.
    pub code: ErrorCode,
    /// Message.
    pub message: String,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    /// Cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<serde_json::Value>,
    /// Correlation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

/// Render mode of a view or route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RenderMode {
    /// Static generation.
    Ssg,
    /// Server rendering.
    Ssr,
    /// Single-page app.
    Spa,
}

/// SSG options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SsgSpec {
    /// Revalidation period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revalidate_seconds: Option<u64>,
}

/// Who may call a route (a webstir extension of the contract; the original ignores unknown route keys).
///
/// Serialized as `{"mode":"public"}`, `{"mode":"authenticated"}` or
/// `{"mode":"authenticated","scopes":["accounts:read"],"roles":["admin"]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessRule {
    /// `public` or `authenticated`.
    pub mode: AccessMode,
    /// Every scope listed is required.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// At least one of the roles listed is required.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

/// Whether a route needs credentials.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessMode {
    /// Anyone may call it.
    #[default]
    Public,
    /// A valid credential is required.
    Authenticated,
}

/// A route: method, path and the metadata that describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteDefinition {
    /// Route name, e.g. `listAccounts`.
    pub name: String,
    /// HTTP method.
    pub method: HttpMethod,
    /// Path pattern with `:param` segments.
    pub path: String,
    /// Short summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Longer description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Interaction style.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction: Option<Interaction>,
    /// Request hooks by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_hooks: Vec<HookRef>,
    /// Session options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionSpec>,
    /// Flash options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flash: Option<FlashSpec>,
    /// Form options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<FormSpec>,
    /// Fragment options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fragment: Option<FragmentSpec>,
    /// Input schemas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<RouteInput>,
    /// Output schemas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<RouteOutput>,
    /// Declared errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorSpec>,
    /// Access rule (webstir extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AccessRule>,
    /// Render mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render_mode: Option<RenderMode>,
    /// Static paths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub static_paths: Vec<String>,
    /// SSG options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssg: Option<SsgSpec>,
}

/// A reference to a request hook by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookRef {
    /// Hook id.
    pub id: String,
}

impl RouteDefinition {
    /// A route with just a name, method and path.
    pub fn new(name: impl Into<String>, method: HttpMethod, path: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            method,
            path: path.into(),
            summary: None,
            description: None,
            tags: Vec::new(),
            interaction: None,
            request_hooks: Vec::new(),
            session: None,
            flash: None,
            form: None,
            fragment: None,
            input: None,
            output: None,
            errors: Vec::new(),
            auth: None,
            render_mode: None,
            static_paths: Vec::new(),
            ssg: None,
        }
    }
}
