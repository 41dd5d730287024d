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
#[non_exhaustive]
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
#[non_exhaustive]
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
    /// Parse the one written form of a schema reference, `kind:Name@source`, shared by the CLI's
    /// `--*-schema` flags and the route builder: `kind:` is optional (zod by default; `zod`,
    /// `json-schema` or `ts-rest`, any case) and `@source` is optional.
    ///
    /// ```
    /// use webstir_manifest::{SchemaReference, SchemaKind};
    /// let r = SchemaReference::parse("json-schema:Account@schemas/account.json").unwrap();
    /// assert_eq!(r.kind, SchemaKind::JsonSchema);
    /// assert_eq!(r.name, "Account");
    /// assert_eq!(r.source.as_deref(), Some("schemas/account.json"));
    /// assert_eq!(r.to_string(), "json-schema:Account@schemas/account.json");
    /// assert!(SchemaReference::parse("yup:Account").is_err());
    /// ```
    ///
    /// # Errors
    /// [`SchemaRefError`] naming what is missing or unknown.
    pub fn parse(text: &str) -> Result<Self, SchemaRefError> {
        let value = text.trim();
        let at = value.find('@');
        let (kind, rest) = match value.find(':') {
            Some(0) => return Err(SchemaRefError::MissingName),
            Some(colon) if at.is_none_or(|at| colon < at) => {
                (value[..colon].trim(), &value[colon + 1..])
            }
            _ => ("zod", value),
        };
        let kind = match kind.to_ascii_lowercase().as_str() {
            "zod" => SchemaKind::Zod,
            "json-schema" => SchemaKind::JsonSchema,
            "ts-rest" => SchemaKind::TsRest,
            _ => return Err(SchemaRefError::UnknownKind(kind.to_owned())),
        };
        let (name, source) = match rest.split_once('@') {
            Some((name, source)) => (name.trim(), Some(source.trim()).filter(|s| !s.is_empty())),
            None => (rest.trim(), None),
        };
        if name.is_empty() {
            return Err(SchemaRefError::NameRequired);
        }
        Ok(Self {
            kind,
            name: name.to_owned(),
            source: source.map(str::to_owned),
        })
    }
}

impl std::fmt::Display for SchemaReference {
    /// The written form `kind:Name@source` that [`SchemaReference::parse`] reads.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            SchemaKind::Zod => "zod",
            SchemaKind::JsonSchema => "json-schema",
            SchemaKind::TsRest => "ts-rest",
        };
        write!(f, "{kind}:{}", self.name)?;
        if let Some(source) = &self.source {
            write!(f, "@{source}")?;
        }
        Ok(())
    }
}

/// Why a schema reference does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaRefError {
    /// Nothing before the first `:`.
    #[error("Missing schema name.")]
    MissingName,
    /// A kind and no name (`zod:` or `zod:@file`).
    #[error("Schema name is required.")]
    NameRequired,
    /// A kind other than zod, json-schema or ts-rest.
    #[error("Invalid schema kind '{0}'. Allowed kinds: zod, json-schema, ts-rest.")]
    UnknownKind(String),
}

/// Route interaction style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Interaction {
    /// Navigation (GET-like).
    Navigation,
    /// Mutation (form post).
    Mutation,
}

/// Session requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SessionMode {
    /// A session is loaded if present.
    Optional,
    /// A session must exist.
    Required,
}

/// Session options of a route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
pub enum RenderMode {
    /// Static generation.
    Ssg,
    /// Server rendering.
    Ssr,
    /// Single-page app.
    Spa,
}

/// SSG options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
pub enum AccessMode {
    /// Anyone may call it.
    #[default]
    Public,
    /// A valid credential is required.
    Authenticated,
    /// Only a service credential (`X-Service-Token` matching `AUTH_SERVICE_TOKENS`) may call it. Decided
    /// by the credential's kind, never by a scope or role claim a user token could carry.
    Service,
}

/// A route: method, path and the metadata that describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
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
#[non_exhaustive]
pub struct HookRef {
    /// Hook id.
    pub id: String,
}

// Constructors and builder methods. The types are `#[non_exhaustive]` so that fields can be added
// without a breaking change; outside this crate they are built with these methods instead of
// struct literals. Every setter only changes the field it names, so the JSON a value serializes to
// is exactly what the equivalent struct literal produced.

impl SchemaReference {
    /// A reference to the schema `name`, of the default kind (zod) and with no source.
    ///
    /// ```
    /// use webstir_manifest::{SchemaKind, SchemaReference};
    ///
    /// let account = SchemaReference::new("Account")
    ///     .kind(SchemaKind::JsonSchema)
    ///     .source("schemas/account.json");
    /// assert_eq!(
    ///     serde_json::to_string(&account).unwrap(),
    ///     r#"{"kind":"json-schema","name":"Account","source":"schemas/account.json"}"#
    /// );
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            kind: SchemaKind::default(),
            name: name.into(),
            source: None,
        }
    }

    /// Set the schema kind.
    #[must_use]
    pub fn kind(mut self, kind: SchemaKind) -> Self {
        self.kind = kind;
        self
    }

    /// Set where the schema lives.
    #[must_use]
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }
}

impl SessionSpec {
    /// Session options with the given requirement (`write` unset).
    ///
    /// ```
    /// use webstir_manifest::{SessionMode, SessionSpec};
    ///
    /// let spec = SessionSpec::new(SessionMode::Required).write(true);
    /// assert_eq!(
    ///     serde_json::to_string(&spec).unwrap(),
    ///     r#"{"mode":"required","write":true}"#
    /// );
    /// ```
    pub fn new(mode: SessionMode) -> Self {
        Self {
            mode: Some(mode),
            write: None,
        }
    }

    /// Set the requirement.
    #[must_use]
    pub fn mode(mut self, mode: SessionMode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Set whether the route writes the session (serialized as given, `false` included).
    #[must_use]
    pub fn write(mut self, write: bool) -> Self {
        self.write = Some(write);
        self
    }
}

impl FlashPublish {
    /// A published flash message with the given key (level and condition unset).
    pub fn new(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            level: None,
            when: None,
        }
    }

    /// Set the level: `info`, `success`, `warning` or `error`.
    #[must_use]
    pub fn level(mut self, level: impl Into<String>) -> Self {
        self.level = Some(level.into());
        self
    }

    /// Set when it is published: `always`, `success` or `error`.
    #[must_use]
    pub fn when(mut self, when: impl Into<String>) -> Self {
        self.when = Some(when.into());
        self
    }
}

impl FlashSpec {
    /// Add a consumed key.
    ///
    /// ```
    /// use webstir_manifest::{FlashPublish, FlashSpec};
    ///
    /// let flash = FlashSpec::default()
    ///     .consume("notice")
    ///     .publish(FlashPublish::new("saved").level("success").when("success"));
    /// assert_eq!(
    ///     serde_json::to_string(&flash).unwrap(),
    ///     r#"{"consume":["notice"],"publish":[{"key":"saved","level":"success","when":"success"}]}"#
    /// );
    /// ```
    #[must_use]
    pub fn consume(mut self, key: impl Into<String>) -> Self {
        self.consume.push(key.into());
        self
    }

    /// Add a published message.
    #[must_use]
    pub fn publish(mut self, message: FlashPublish) -> Self {
        self.publish.push(message);
        self
    }
}

impl FormSpec {
    /// Form options accepting `content_type` (everything else unset).
    pub fn new(content_type: FormContentType) -> Self {
        Self {
            content_type: Some(content_type),
            ..Self::default()
        }
    }

    /// Form options accepting `application/x-www-form-urlencoded`.
    ///
    /// ```
    /// use webstir_manifest::FormSpec;
    ///
    /// let form = FormSpec::urlencoded().csrf(true);
    /// assert_eq!(
    ///     serde_json::to_string(&form).unwrap(),
    ///     r#"{"contentType":"application/x-www-form-urlencoded","csrf":true}"#
    /// );
    /// ```
    pub fn urlencoded() -> Self {
        Self::new(FormContentType::UrlEncoded)
    }

    /// Form options accepting `multipart/form-data`.
    pub fn multipart() -> Self {
        Self::new(FormContentType::Multipart)
    }

    /// Form options accepting `text/plain`.
    pub fn text_plain() -> Self {
        Self::new(FormContentType::TextPlain)
    }

    /// Set the accepted content type.
    #[must_use]
    pub fn content_type(mut self, content_type: FormContentType) -> Self {
        self.content_type = Some(content_type);
        self
    }

    /// Set whether a CSRF token is required (serialized as given, `false` included).
    #[must_use]
    pub fn csrf(mut self, csrf: bool) -> Self {
        self.csrf = Some(csrf);
        self
    }

    /// Set the session options of the form.
    #[must_use]
    pub fn session(mut self, session: SessionSpec) -> Self {
        self.session = Some(session);
        self
    }

    /// Set the flash options of the form.
    #[must_use]
    pub fn flash(mut self, flash: FlashSpec) -> Self {
        self.flash = Some(flash);
        self
    }
}

impl FragmentSpec {
    /// A fragment for the element `target` (selector and mode unset).
    ///
    /// ```
    /// use webstir_manifest::{FragmentMode, FragmentSpec};
    ///
    /// let fragment = FragmentSpec::new("greeting").selector("#main").mode(FragmentMode::Append);
    /// assert_eq!(
    ///     serde_json::to_string(&fragment).unwrap(),
    ///     r##"{"target":"greeting","selector":"#main","mode":"append"}"##
    /// );
    /// ```
    pub fn new(target: impl Into<String>) -> Self {
        Self {
            target: target.into(),
            selector: None,
            mode: None,
        }
    }

    /// Set the CSS selector within the target.
    #[must_use]
    pub fn selector(mut self, selector: impl Into<String>) -> Self {
        self.selector = Some(selector.into());
        self
    }

    /// Set how the fragment is applied.
    #[must_use]
    pub fn mode(mut self, mode: FragmentMode) -> Self {
        self.mode = Some(mode);
        self
    }
}

impl RouteInput {
    /// Set the path params schema.
    #[must_use]
    pub fn params(mut self, schema: SchemaReference) -> Self {
        self.params = Some(schema);
        self
    }

    /// Set the query schema.
    #[must_use]
    pub fn query(mut self, schema: SchemaReference) -> Self {
        self.query = Some(schema);
        self
    }

    /// Set the body schema.
    ///
    /// ```
    /// use webstir_manifest::{RouteInput, SchemaReference};
    ///
    /// let input = RouteInput::default().body(SchemaReference::new("CreateAccount"));
    /// assert_eq!(
    ///     serde_json::to_string(&input).unwrap(),
    ///     r#"{"body":{"kind":"zod","name":"CreateAccount"}}"#
    /// );
    /// ```
    #[must_use]
    pub fn body(mut self, schema: SchemaReference) -> Self {
        self.body = Some(schema);
        self
    }

    /// Set the headers schema.
    #[must_use]
    pub fn headers(mut self, schema: SchemaReference) -> Self {
        self.headers = Some(schema);
        self
    }
}

impl RedirectSpec {
    /// A redirect to `location` (status unset).
    ///
    /// ```
    /// use webstir_manifest::RedirectSpec;
    ///
    /// let redirect = RedirectSpec::to("/done").status(303);
    /// assert_eq!(
    ///     serde_json::to_string(&redirect).unwrap(),
    ///     r#"{"status":303,"location":"/done"}"#
    /// );
    /// ```
    pub fn to(location: impl Into<String>) -> Self {
        Self::default().location(location)
    }

    /// Set the status: 301, 302, 303, 307 or 308.
    #[must_use]
    pub fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Set the target location.
    #[must_use]
    pub fn location(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }
}

impl ResponseSpec {
    /// Set the status code.
    #[must_use]
    pub fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Set the headers schema.
    #[must_use]
    pub fn headers(mut self, schema: SchemaReference) -> Self {
        self.headers = Some(schema);
        self
    }

    /// Set the body schema.
    #[must_use]
    pub fn body(mut self, schema: SchemaReference) -> Self {
        self.body = Some(schema);
        self
    }

    /// Set the redirect details.
    #[must_use]
    pub fn redirect(mut self, redirect: RedirectSpec) -> Self {
        self.redirect = Some(redirect);
        self
    }

    /// Set the fragment details.
    #[must_use]
    pub fn fragment(mut self, fragment: FragmentSpec) -> Self {
        self.fragment = Some(fragment);
        self
    }
}

impl RouteOutput {
    /// Set the status code of the single response variant.
    #[must_use]
    pub fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Set the headers schema of the single response variant.
    #[must_use]
    pub fn headers(mut self, schema: SchemaReference) -> Self {
        self.headers = Some(schema);
        self
    }

    /// Set the body schema of the single response variant.
    ///
    /// ```
    /// use webstir_manifest::{RouteOutput, SchemaReference};
    ///
    /// let output = RouteOutput::default().status(200).body(SchemaReference::new("Account"));
    /// assert_eq!(
    ///     serde_json::to_string(&output).unwrap(),
    ///     r#"{"status":200,"body":{"kind":"zod","name":"Account"}}"#
    /// );
    /// ```
    #[must_use]
    pub fn body(mut self, schema: SchemaReference) -> Self {
        self.body = Some(schema);
        self
    }

    /// Set the redirect details of the single response variant.
    #[must_use]
    pub fn redirect(mut self, redirect: RedirectSpec) -> Self {
        self.redirect = Some(redirect);
        self
    }

    /// Set the fragment details of the single response variant.
    #[must_use]
    pub fn fragment(mut self, fragment: FragmentSpec) -> Self {
        self.fragment = Some(fragment);
        self
    }

    /// Add an alternative response variant to `responses` (the contract allows either the single
    /// variant fields or `responses`, not both).
    ///
    /// ```
    /// use webstir_manifest::{RedirectSpec, ResponseSpec, RouteOutput};
    ///
    /// let output = RouteOutput::default()
    ///     .response(ResponseSpec::default().redirect(RedirectSpec::to("/done").status(303)))
    ///     .response(ResponseSpec::default().status(422));
    /// assert_eq!(
    ///     serde_json::to_string(&output).unwrap(),
    ///     r#"{"responses":[{"redirect":{"status":303,"location":"/done"}},{"status":422}]}"#
    /// );
    /// ```
    #[must_use]
    pub fn response(mut self, variant: ResponseSpec) -> Self {
        self.responses.get_or_insert_with(Vec::new).push(variant);
        self
    }
}

impl ErrorSpec {
    /// A declared error with the given code and message (details, cause and correlation id unset).
    ///
    /// ```
    /// use webstir_manifest::{ErrorCode, ErrorSpec};
    ///
    /// let error = ErrorSpec::new(ErrorCode::NotFound, "account not found");
    /// assert_eq!(
    ///     serde_json::to_string(&error).unwrap(),
    ///     r#"{"code":"not_found","message":"account not found"}"#
    /// );
    /// ```
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
            cause: None,
            correlation_id: None,
        }
    }

    /// Set the details.
    #[must_use]
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Set the cause.
    #[must_use]
    pub fn cause(mut self, cause: serde_json::Value) -> Self {
        self.cause = Some(cause);
        self
    }

    /// Set the correlation id.
    #[must_use]
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = Some(id.into());
        self
    }
}

impl SsgSpec {
    /// Set the revalidation period in seconds.
    #[must_use]
    pub fn revalidate_seconds(mut self, seconds: u64) -> Self {
        self.revalidate_seconds = Some(seconds);
        self
    }
}

impl AccessRule {
    /// Anyone may call the route (the same as [`AccessRule::default`]): `{"mode":"public"}`.
    pub fn public() -> Self {
        Self::default()
    }

    /// A valid credential is required: `{"mode":"authenticated"}`.
    ///
    /// ```
    /// use webstir_manifest::AccessRule;
    ///
    /// let rule = AccessRule::authenticated().scopes(["accounts:read"]).roles(["admin"]);
    /// assert_eq!(
    ///     serde_json::to_string(&rule).unwrap(),
    ///     r#"{"mode":"authenticated","scopes":["accounts:read"],"roles":["admin"]}"#
    /// );
    /// ```
    pub fn authenticated() -> Self {
        Self {
            mode: AccessMode::Authenticated,
            ..Self::default()
        }
    }

    /// Only service credentials: `{"mode":"service"}`.
    pub fn service() -> Self {
        Self {
            mode: AccessMode::Service,
            ..Self::default()
        }
    }

    /// Set the mode.
    #[must_use]
    pub fn mode(mut self, mode: AccessMode) -> Self {
        self.mode = mode;
        self
    }

    /// Require every listed scope (replaces the list). Like the runtime, scopes imply
    /// [`AccessMode::Authenticated`], so this also sets the mode.
    #[must_use]
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.mode = AccessMode::Authenticated;
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Require at least one of the listed roles (replaces the list). Like the runtime, roles imply
    /// [`AccessMode::Authenticated`], so this also sets the mode.
    #[must_use]
    pub fn roles<S: Into<String>>(mut self, roles: impl IntoIterator<Item = S>) -> Self {
        self.mode = AccessMode::Authenticated;
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }
}

impl HookRef {
    /// A reference to the request hook `id`.
    pub fn new(id: impl Into<String>) -> Self {
        Self { id: id.into() }
    }
}

impl RouteDefinition {
    /// A route with just a name, method and path.
    ///
    /// ```
    /// use webstir_manifest::{
    ///     AccessRule, FormSpec, HttpMethod, Interaction, RouteDefinition, SessionMode, SessionSpec,
    /// };
    ///
    /// let route = RouteDefinition::new("createAccount", HttpMethod::Post, "/accounts")
    ///     .summary("Create an account")
    ///     .interaction(Interaction::Mutation)
    ///     .session(SessionSpec::new(SessionMode::Required).write(true))
    ///     .form(FormSpec::urlencoded().csrf(true))
    ///     .auth(AccessRule::authenticated());
    /// assert_eq!(
    ///     serde_json::to_string(&route).unwrap(),
    ///     concat!(
    ///         r#"{"name":"createAccount","method":"POST","path":"/accounts","#,
    ///         r#""summary":"Create an account","interaction":"mutation","#,
    ///         r#""session":{"mode":"required","write":true},"#,
    ///         r#""form":{"contentType":"application/x-www-form-urlencoded","csrf":true},"#,
    ///         r#""auth":{"mode":"authenticated"}}"#,
    ///     )
    /// );
    /// ```
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

    /// Set the summary.
    #[must_use]
    pub fn summary(mut self, text: impl Into<String>) -> Self {
        self.summary = Some(text.into());
        self
    }

    /// Set the description.
    #[must_use]
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }

    /// Set the tags (replaces the list).
    #[must_use]
    pub fn tags<S: Into<String>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Set the interaction style.
    #[must_use]
    pub fn interaction(mut self, interaction: Interaction) -> Self {
        self.interaction = Some(interaction);
        self
    }

    /// Add a request hook by id.
    #[must_use]
    pub fn request_hook(mut self, id: impl Into<String>) -> Self {
        self.request_hooks.push(HookRef::new(id));
        self
    }

    /// Set the session options.
    #[must_use]
    pub fn session(mut self, session: SessionSpec) -> Self {
        self.session = Some(session);
        self
    }

    /// Set the flash options.
    #[must_use]
    pub fn flash(mut self, flash: FlashSpec) -> Self {
        self.flash = Some(flash);
        self
    }

    /// Set the form options.
    #[must_use]
    pub fn form(mut self, form: FormSpec) -> Self {
        self.form = Some(form);
        self
    }

    /// Set the fragment options.
    #[must_use]
    pub fn fragment(mut self, fragment: FragmentSpec) -> Self {
        self.fragment = Some(fragment);
        self
    }

    /// Set the input schemas.
    #[must_use]
    pub fn input(mut self, input: RouteInput) -> Self {
        self.input = Some(input);
        self
    }

    /// Set the output schemas.
    #[must_use]
    pub fn output(mut self, output: RouteOutput) -> Self {
        self.output = Some(output);
        self
    }

    /// Add a declared error.
    #[must_use]
    pub fn error(mut self, error: ErrorSpec) -> Self {
        self.errors.push(error);
        self
    }

    /// Set the access rule.
    #[must_use]
    pub fn auth(mut self, rule: AccessRule) -> Self {
        self.auth = Some(rule);
        self
    }

    /// Set the render mode.
    #[must_use]
    pub fn render_mode(mut self, mode: RenderMode) -> Self {
        self.render_mode = Some(mode);
        self
    }

    /// Set the static paths (replaces the list).
    #[must_use]
    pub fn static_paths<S: Into<String>>(mut self, paths: impl IntoIterator<Item = S>) -> Self {
        self.static_paths = paths.into_iter().map(Into::into).collect();
        self
    }

    /// Set the SSG options.
    #[must_use]
    pub fn ssg(mut self, ssg: SsgSpec) -> Self {
        self.ssg = Some(ssg);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json<T: Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap()
    }

    /// The constructors serialize exactly like the struct literals callers wrote before the types
    /// became `#[non_exhaustive]` (these literals are the ones the runtime and CLI used).
    #[test]
    fn constructors_match_the_former_struct_literals() {
        let literal = SessionSpec {
            mode: Some(SessionMode::Optional),
            write: true.then_some(true),
        };
        let built = SessionSpec::new(SessionMode::Optional).write(true);
        assert_eq!(built, literal);
        assert_eq!(json(&built), r#"{"mode":"optional","write":true}"#);
        assert_eq!(
            json(&SessionSpec::new(SessionMode::Optional)),
            r#"{"mode":"optional"}"#
        );

        let literal = FormSpec {
            content_type: Some(FormContentType::UrlEncoded),
            csrf: true.then_some(true),
            session: None,
            flash: None,
        };
        assert_eq!(FormSpec::urlencoded().csrf(true), literal);
        assert_eq!(
            json(&FormSpec::urlencoded()),
            r#"{"contentType":"application/x-www-form-urlencoded"}"#
        );

        let literal = FragmentSpec {
            target: "greeting".into(),
            selector: None,
            mode: Some(FragmentMode::Replace),
        };
        let built = FragmentSpec::new("greeting").mode(FragmentMode::Replace);
        assert_eq!(built, literal);
        assert_eq!(json(&built), r#"{"target":"greeting","mode":"replace"}"#);

        let literal = AccessRule {
            mode: AccessMode::Authenticated,
            scopes: vec!["accounts:write".into()],
            roles: vec!["admin".into(), "owner".into()],
        };
        let built = AccessRule::authenticated()
            .scopes(["accounts:write"])
            .roles(["admin", "owner"]);
        assert_eq!(built, literal);
        assert_eq!(
            AccessRule::default().roles(["admin"]).mode,
            AccessMode::Authenticated
        );
        assert_eq!(json(&AccessRule::public()), r#"{"mode":"public"}"#);

        let literal = SchemaReference {
            kind: SchemaKind::Zod,
            name: "Account".into(),
            source: None,
        };
        assert_eq!(SchemaReference::new("Account"), literal);
        assert_eq!(SchemaReference::parse("Account"), Ok(literal));
    }

    #[test]
    fn a_built_route_round_trips_through_json() {
        let route = RouteDefinition::new("saveProfile", HttpMethod::Post, "/profile/:id")
            .description("Saves the profile")
            .tags(["profile"])
            .request_hook("audit")
            .flash(FlashSpec::default().publish(FlashPublish::new("saved")))
            .fragment(FragmentSpec::new("profile").selector("#card"))
            .input(RouteInput::default().params(SchemaReference::new("ProfileParams")))
            .output(
                RouteOutput::default()
                    .response(ResponseSpec::default().redirect(RedirectSpec::to("/profile")))
                    .response(
                        ResponseSpec::default()
                            .status(422)
                            .body(SchemaReference::new("ProfileForm"))
                            .fragment(FragmentSpec::new("profile")),
                    ),
            )
            .error(ErrorSpec::new(ErrorCode::Validation, "bad input").correlation_id("c1"))
            .render_mode(RenderMode::Ssr)
            .static_paths(["/profile/1"])
            .ssg(SsgSpec::default().revalidate_seconds(60));
        let text = json(&route);
        assert_eq!(
            text,
            concat!(
                r#"{"name":"saveProfile","method":"POST","path":"/profile/:id","#,
                r#""description":"Saves the profile","tags":["profile"],"#,
                r#""requestHooks":[{"id":"audit"}],"flash":{"publish":[{"key":"saved"}]},"#,
                r##""fragment":{"target":"profile","selector":"#card"},"##,
                r#""input":{"params":{"kind":"zod","name":"ProfileParams"}},"#,
                r#""output":{"responses":[{"redirect":{"location":"/profile"}},"#,
                r#"{"status":422,"body":{"kind":"zod","name":"ProfileForm"},"#,
                r#""fragment":{"target":"profile"}}]},"#,
                r#""errors":[{"code":"validation","message":"bad input","correlationId":"c1"}],"#,
                r#""renderMode":"ssr","staticPaths":["/profile/1"],"ssg":{"revalidateSeconds":60}}"#,
            )
        );
        let back: RouteDefinition = serde_json::from_str(&text).unwrap();
        assert_eq!(back, route);
    }
}
