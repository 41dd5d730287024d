//! Route access rules: who may call a route, decided before the handler runs.

use crate::context::AuthContext;
use crate::outcome::{AuthOutcome, CredentialKind, RejectReason};
use crate::security_log;

/// What a route requires. The runtime maps the manifest's access rule onto this:
/// `public` → [`Requirement::public`], `authenticated` → [`Requirement::authenticated`], plus
/// [`with_scopes`](Self::with_scopes) / [`with_roles`](Self::with_roles).
///
/// Semantics: **every** listed scope is required; **at least one** listed role is required.
/// Listing scopes or roles implies `authenticated`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Requirement {
    /// A verified credential is required.
    pub authenticated: bool,
    /// All of these scopes are required.
    pub scopes: Vec<String>,
    /// At least one of these roles is required (when non-empty).
    pub roles: Vec<String>,
    /// Only these credential kinds are accepted (any kind when empty).
    pub credentials: Vec<CredentialKind>,
}

impl Requirement {
    /// Anyone may call the route, with or without a (valid) credential.
    pub fn public() -> Self {
        Self::default()
    }

    /// A verified credential of any kind is required.
    pub fn authenticated() -> Self {
        Self {
            authenticated: true,
            ..Self::default()
        }
    }

    /// Only a service credential (`AUTH_SERVICE_TOKENS`) is accepted: decided by the credential's kind,
    /// never by a `service` scope or role a user token could claim.
    pub fn service() -> Self {
        Self::authenticated().with_credentials([CredentialKind::ServiceToken])
    }

    /// Accept only these credential kinds (and therefore require authentication).
    #[must_use]
    pub fn with_credentials(mut self, kinds: impl IntoIterator<Item = CredentialKind>) -> Self {
        self.credentials.extend(kinds);
        self.authenticated = true;
        self
    }

    /// Requires every one of `scopes` (and therefore authentication).
    #[must_use]
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self.authenticated = true;
        self
    }

    /// Requires at least one of `roles` (and therefore authentication).
    #[must_use]
    pub fn with_roles<I, S>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.roles.extend(roles.into_iter().map(Into::into));
        self.authenticated = true;
        self
    }

    /// `true` when the route is public.
    pub fn is_public(&self) -> bool {
        !self.authenticated && self.scopes.is_empty() && self.roles.is_empty()
    }

    /// Decides whether `outcome` satisfies this requirement, and logs a security event
    /// (target `webstir::security`, `auth.denied`) for every denial.
    ///
    /// * public route → always [`Decision::Allow`], even for a rejected credential (the handler
    ///   then sees no `ctx.auth`);
    /// * no credential, or a rejected one → [`Decision::Unauthorized`] (401);
    /// * verified but missing a scope or role → [`Decision::Forbidden`] (403).
    pub fn check(&self, outcome: &AuthOutcome) -> Decision {
        let decision = self.decide(outcome);
        match &decision {
            Decision::Allow => {}
            Decision::Unauthorized(reason) => security_log::unauthorized(*reason),
            Decision::Forbidden(reason) => {
                let kind = outcome.context().map(|c| c.kind);
                security_log::forbidden(reason, kind);
            }
        }
        decision
    }

    fn decide(&self, outcome: &AuthOutcome) -> Decision {
        if self.is_public() {
            return Decision::Allow;
        }
        let ctx = match outcome {
            AuthOutcome::Anonymous => return Decision::Unauthorized(None),
            AuthOutcome::Rejected(reason) => return Decision::Unauthorized(Some(*reason)),
            AuthOutcome::Authenticated(ctx) => ctx,
        };
        self.authorize(ctx)
    }

    /// The scope/role part of [`check`](Self::check) for an already verified context (no logging).
    ///
    /// The scope and role named `service` are reserved: only a service credential holds them, whatever
    /// a token's claims say.
    pub fn authorize(&self, ctx: &AuthContext) -> Decision {
        if !self.credentials.is_empty() && !self.credentials.contains(&ctx.kind) {
            return Decision::Forbidden(Forbidden::CredentialKind(self.credentials.clone()));
        }
        let service = ctx.kind == CredentialKind::ServiceToken;
        if let Some(missing) = self
            .scopes
            .iter()
            .find(|s| !ctx.has_scope(s) || (s.as_str() == SERVICE && !service))
        {
            return Decision::Forbidden(Forbidden::MissingScope(missing.clone()));
        }
        let role_ok = |r: &String| ctx.has_role(r) && (r.as_str() != SERVICE || service);
        if !self.roles.is_empty() && !self.roles.iter().any(role_ok) {
            return Decision::Forbidden(Forbidden::MissingRole(self.roles.clone()));
        }
        Decision::Allow
    }
}

/// The verdict of [`Requirement::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run the handler.
    Allow,
    /// 401: no credential (`None`) or a refused one (`Some(reason)`).
    Unauthorized(Option<RejectReason>),
    /// 403: authenticated, but without the required scope or role.
    Forbidden(Forbidden),
}

/// Why an authenticated caller was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Forbidden {
    /// This required scope was not granted.
    MissingScope(String),
    /// None of these roles was granted.
    MissingRole(Vec<String>),
    /// The credential is not of an accepted kind (e.g. a user token on a service-only route).
    CredentialKind(Vec<CredentialKind>),
}

/// The reserved scope and role of service credentials.
const SERVICE: &str = "service";

impl Forbidden {
    /// Stable code for logs: `missing_scope` or `missing_role`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingScope(_) => "missing_scope",
            Self::MissingRole(_) => "missing_role",
            Self::CredentialKind(_) => "wrong_credential",
        }
    }
}

impl Decision {
    /// `true` for [`Decision::Allow`].
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow)
    }

    /// HTTP status: 200 (allow), 401 or 403.
    pub fn status(&self) -> u16 {
        match self {
            Self::Allow => 200,
            Self::Unauthorized(_) => 401,
            Self::Forbidden(_) => 403,
        }
    }

    /// The `WWW-Authenticate` value to send (RFC 6750 §3), or `None` for [`Decision::Allow`]:
    /// `Bearer` when no credential was sent, `Bearer error="invalid_token"` (or
    /// `invalid_request`) when one was refused, `Bearer error="insufficient_scope"` on 403
    /// (optional there). Never includes library error text.
    pub fn www_authenticate(&self) -> Option<String> {
        match self {
            Self::Allow => None,
            Self::Unauthorized(None) => Some("Bearer".to_owned()),
            Self::Unauthorized(Some(reason)) => {
                Some(format!("Bearer error=\"{}\"", reason.bearer_error()))
            }
            Self::Forbidden(_) => Some("Bearer error=\"insufficient_scope\"".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_only_is_decided_by_the_credential_kind() {
        let r = Requirement::service();
        let forged = AuthOutcome::Authenticated(
            AuthContext::new(CredentialKind::Jwt)
                .with_scopes(["service"])
                .with_roles(["service"]),
        );
        assert_eq!(r.check(&forged).status(), 403);
        assert!(
            r.check(&AuthOutcome::Authenticated(AuthContext::service()))
                .is_allowed()
        );
        assert_eq!(r.check(&AuthOutcome::Anonymous).status(), 401);
        // The reserved scope and role are not granted by a user token's claims either.
        let by_scope = Requirement::public().with_scopes(["service"]);
        assert_eq!(by_scope.check(&forged).status(), 403);
        let by_role = Requirement::public().with_roles(["service"]);
        assert_eq!(by_role.check(&forged).status(), 403);
        assert!(
            by_role
                .check(&AuthOutcome::Authenticated(AuthContext::service()))
                .is_allowed()
        );
    }

    fn user(scopes: &[&str], roles: &[&str]) -> AuthOutcome {
        AuthOutcome::Authenticated(
            AuthContext::new(CredentialKind::Jwt)
                .with_scopes(scopes.iter().copied())
                .with_roles(roles.iter().copied()),
        )
    }

    #[test]
    fn public_allows_everything() {
        let r = Requirement::public();
        assert!(r.check(&AuthOutcome::Anonymous).is_allowed());
        assert!(
            r.check(&AuthOutcome::Rejected(RejectReason::Expired))
                .is_allowed()
        );
    }

    #[test]
    fn authenticated_needs_a_credential() {
        let r = Requirement::authenticated();
        assert_eq!(
            r.check(&AuthOutcome::Anonymous),
            Decision::Unauthorized(None)
        );
        assert_eq!(
            r.check(&AuthOutcome::Rejected(RejectReason::Expired)),
            Decision::Unauthorized(Some(RejectReason::Expired))
        );
        assert!(r.check(&user(&[], &[])).is_allowed());
    }

    #[test]
    fn all_scopes_and_any_role() {
        let r = Requirement::public()
            .with_scopes(["a", "b"])
            .with_roles(["admin", "owner"]);
        assert!(!r.is_public());
        assert_eq!(
            r.check(&user(&["a"], &["admin"])),
            Decision::Forbidden(Forbidden::MissingScope("b".into()))
        );
        assert_eq!(r.check(&user(&["a", "b"], &["viewer"])).status(), 403);
        assert!(r.check(&user(&["b", "a"], &["owner"])).is_allowed());
        assert_eq!(r.check(&AuthOutcome::Anonymous).status(), 401);
    }

    #[test]
    fn challenges() {
        assert_eq!(
            Decision::Unauthorized(None).www_authenticate().as_deref(),
            Some("Bearer")
        );
        assert_eq!(
            Decision::Unauthorized(Some(RejectReason::InvalidSignature))
                .www_authenticate()
                .as_deref(),
            Some("Bearer error=\"invalid_token\"")
        );
        assert_eq!(
            Decision::Unauthorized(Some(RejectReason::CredentialInQuery))
                .www_authenticate()
                .as_deref(),
            Some("Bearer error=\"invalid_request\"")
        );
        assert_eq!(Decision::Allow.www_authenticate(), None);
    }
}
