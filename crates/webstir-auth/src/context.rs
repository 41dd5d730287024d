//! The verified identity placed in `ctx.auth`.

use serde_json::{Map, Value};

use crate::outcome::CredentialKind;

/// Claims read for [`AuthContext::roles`], in order: the first one present wins.
pub const ROLE_CLAIMS: &[&str] = &["roles", "role", "https://schemas.webstir.dev/roles"];

/// Claims read for [`AuthContext::tenant`], in order: the first one holding a non-empty string wins.
pub const TENANT_CLAIMS: &[&str] = &["tenant", "tenant_id", "org_id"];

/// A verified credential: who is calling and what they may do.
///
/// Serializes as
/// `{"kind":"jwt","user_id":"u1","email":null,"name":null,"scopes":[…],"roles":[…],"tenant":null,"claims":{…}}`
/// (`key_id` is added for API keys). The credential itself is never kept.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct AuthContext {
    /// Which credential produced this context.
    pub kind: CredentialKind,
    /// The subject: JWT `sub`; for an API key, the owner it was created for (if any).
    pub user_id: Option<String>,
    /// JWT `email` claim, when it is a string.
    pub email: Option<String>,
    /// JWT `name` claim, when it is a string.
    pub name: Option<String>,
    /// Granted scopes, de-duplicated, in first-seen order. For JWTs: `scope` (space-separated
    /// string, or array), then `scopes` and `scp` (array, or space-separated string). Service tokens
    /// get `["service"]`; API keys get the scopes they were created with.
    pub scopes: Vec<String>,
    /// Roles, de-duplicated. For JWTs the first present of [`ROLE_CLAIMS`] (array of strings, or a
    /// comma-separated string). Service tokens get `["service"]`.
    pub roles: Vec<String>,
    /// The tenant, for JWTs the first of [`TENANT_CLAIMS`] holding a non-empty string (numbers are
    /// not accepted). Tenancy always comes from the credential, never from the request.
    pub tenant: Option<String>,
    /// The id of the API key used (`kind == ApiKey` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// The raw verified JWT payload; for API keys `{"key_id","name"}`; empty for service tokens.
    pub claims: Map<String, Value>,
}

impl AuthContext {
    /// An empty context of the given kind (no subject, scopes or roles). Mostly useful for tests
    /// of code that consumes contexts.
    pub fn new(kind: CredentialKind) -> Self {
        Self {
            kind,
            user_id: None,
            email: None,
            name: None,
            scopes: Vec::new(),
            roles: Vec::new(),
            tenant: None,
            key_id: None,
            claims: Map::new(),
        }
    }

    /// Sets the subject (builder style).
    #[must_use]
    pub fn with_user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Adds scopes (builder style).
    #[must_use]
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for s in scopes {
            push_unique(&mut self.scopes, s.into());
        }
        self
    }

    /// Adds roles (builder style).
    #[must_use]
    pub fn with_roles<I, S>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for r in roles {
            push_unique(&mut self.roles, r.into());
        }
        self
    }

    /// Sets the tenant (builder style).
    #[must_use]
    pub fn with_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// `true` if the exact scope was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// `true` if the exact role was granted.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// `true` if any of the roles was granted.
    pub fn has_any_role<S: AsRef<str>>(&self, roles: &[S]) -> bool {
        roles.iter().any(|r| self.has_role(r.as_ref()))
    }

    #[cfg(feature = "jwt")]
    /// Builds the context of a verified JWT payload.
    pub(crate) fn from_jwt_claims(claims: Map<String, Value>) -> Self {
        let mut ctx = Self::new(CredentialKind::Jwt);
        ctx.user_id = string_claim(&claims, "sub");
        ctx.email = string_claim(&claims, "email");
        ctx.name = string_claim(&claims, "name");
        for name in ["scope", "scopes", "scp"] {
            if let Some(value) = claims.get(name) {
                for s in split_list(value, |c: char| c.is_whitespace()) {
                    push_unique(&mut ctx.scopes, s);
                }
            }
        }
        if let Some(value) = ROLE_CLAIMS.iter().find_map(|name| claims.get(*name)) {
            for r in split_list(value, |c: char| c == ',') {
                push_unique(&mut ctx.roles, r);
            }
        }
        ctx.tenant = TENANT_CLAIMS
            .iter()
            .find_map(|name| string_claim(&claims, name));
        ctx.claims = claims;
        ctx
    }

    /// The context of a matched service token.
    pub(crate) fn service() -> Self {
        Self::new(CredentialKind::ServiceToken)
            .with_scopes(["service"])
            .with_roles(["service"])
    }
}

#[cfg(feature = "jwt")]
fn string_claim(claims: &Map<String, Value>, name: &str) -> Option<String> {
    match claims.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    }
}

#[cfg(feature = "jwt")]
/// A string split on `sep`, or an array of strings (non-strings ignored); empty items dropped.
fn split_list(value: &Value, sep: impl Fn(char) -> bool + Copy) -> Vec<String> {
    match value {
        Value::String(s) => s
            .split(sep)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

#[cfg(feature = "jwt")]
#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx(v: Value) -> AuthContext {
        let Value::Object(map) = v else {
            panic!("object expected")
        };
        AuthContext::from_jwt_claims(map)
    }

    #[test]
    fn scopes_from_string_and_arrays_are_merged() {
        let c = ctx(json!({"sub":"u1","scope":"a b  a","scp":["c","b"],"scopes":"d"}));
        assert_eq!(c.scopes, ["a", "b", "d", "c"]);
        assert_eq!(c.user_id.as_deref(), Some("u1"));
        assert!(c.has_scope("c") && !c.has_scope("e"));
    }

    #[test]
    fn roles_use_the_first_present_claim() {
        let c = ctx(json!({"role":"admin, editor","https://schemas.webstir.dev/roles":["x"]}));
        assert_eq!(c.roles, ["admin", "editor"]);
        let c = ctx(json!({"roles":["viewer", 3]}));
        assert_eq!(c.roles, ["viewer"]);
        assert!(c.has_any_role(&["x", "viewer"]));
    }

    #[test]
    fn tenant_needs_a_string() {
        assert_eq!(
            ctx(json!({"tenant": 7, "org_id": "o1"})).tenant.as_deref(),
            Some("o1")
        );
        assert_eq!(
            ctx(json!({"tenant_id": "t1"})).tenant.as_deref(),
            Some("t1")
        );
        assert_eq!(ctx(json!({"email": 5})).email, None);
    }
}
