//! Sign-up, sign-in and sign-out with a password and a session cookie.

use minijinja::context;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use webstir::forms::{FormErrors, KeptForm};
use webstir::{Ctx, Reply, Result, params};

use crate::pages::{self, User};

/// What a sign-in or sign-up form posts.
#[derive(Deserialize)]
struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// What a failed submission keeps for the next render (never the password).
#[derive(Serialize)]
struct Kept<'a> {
    email: &'a str,
}

fn form_page(ctx: &Ctx, sign_up: bool) -> Result<Reply> {
    let route = if sign_up { "signUp" } else { "signIn" };
    let session = ctx.session()?;
    let kept = session.take_form(route);
    let (values, errors) = match kept {
        Some(KeptForm { values, errors, .. }) => (values, errors),
        None => (serde_json::json!({}), FormErrors::new()),
    };
    let data = context! {
        sign_up,
        csrf => session.csrf_token(route),
        values => Serde(&values),
        errors => Serde(&errors),
    };
    let title = if sign_up { "Sign up" } else { "Sign in" };
    pages::page(ctx, title, None, "account.html", data)
}

/// `GET /sign-up`
pub(crate) async fn sign_up_page(ctx: Ctx) -> Result<Reply> {
    if pages::user(&ctx)?.is_some() {
        return Ok(Reply::redirect("/notes"));
    }
    form_page(&ctx, true)
}

/// `GET /sign-in`
pub(crate) async fn sign_in_page(ctx: Ctx) -> Result<Reply> {
    if pages::user(&ctx)?.is_some() {
        return Ok(Reply::redirect("/notes"));
    }
    form_page(&ctx, false)
}

/// Starts the signed-in session: a new id (the pre-sign-in cookie stops working), the user, and
/// the text of the `signed-in` flash.
fn signed_in(ctx: &Ctx, user: User) -> Result<Reply> {
    let session = ctx.session()?;
    session.regenerate()?;
    ctx.flash("signed-in", format!("Signed in as {}", user.email))?;
    session.insert("user", user)?;
    Ok(Reply::redirect("/notes"))
}

/// `POST /sign-up` (email, password)
pub(crate) async fn sign_up(ctx: Ctx) -> Result<Reply> {
    let form: Credentials = ctx.form()?;
    let email = form.email.trim().to_lowercase();
    let mut errors = FormErrors::new();
    if !email.contains('@') || email.len() > 254 {
        errors = errors.field("email", "Enter a valid email address");
    }
    if form.password.chars().count() < 8 {
        errors = errors.field("password", "Use at least 8 characters");
    }
    if errors.is_empty() {
        let taken: Option<i64> = ctx
            .db()
            .query_optional("SELECT id FROM users WHERE email = ?", params![&email])
            .await?;
        if taken.is_some() {
            errors = errors.field("email", "That email already has an account");
        }
    }
    if !errors.is_empty() {
        ctx.session()?
            .keep_form("signUp", Kept { email: &email }, &errors)?;
        return Ok(Reply::redirect("/sign-up"));
    }
    let hash = webstir::password::hash(&form.password).await?;
    ctx.db()
        .execute(
            "INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?)",
            params![&email, hash, ctx.now().to_string()],
        )
        .await?;
    let id: i64 = ctx
        .db()
        .query_one("SELECT id FROM users WHERE email = ?", params![&email])
        .await?;
    signed_in(&ctx, User { id, email })
}

/// `POST /sign-in` (email, password)
pub(crate) async fn sign_in(ctx: Ctx) -> Result<Reply> {
    let form: Credentials = ctx.form()?;
    let email = form.email.trim().to_lowercase();
    let row: Option<(i64, String)> = ctx
        .db()
        .query_optional(
            "SELECT id, password_hash FROM users WHERE email = ?",
            params![&email],
        )
        .await?;
    let (id, stored) = match row {
        Some((id, hash)) => (Some(id), Some(hash)),
        None => (None, None),
    };
    // The same Argon2 cost whether or not the user exists.
    let ok = webstir::password::verify_sign_in(&form.password, stored).await;
    match id {
        Some(id) if ok => signed_in(&ctx, User { id, email }),
        _ => {
            let errors = FormErrors::new().form("Email or password is incorrect");
            ctx.session()?
                .keep_form("signIn", Kept { email: &email }, &errors)?;
            Ok(Reply::redirect("/sign-in"))
        }
    }
}

/// `POST /sign-out`: the session is deleted and its cookie cleared.
pub(crate) async fn sign_out(ctx: Ctx) -> Result<Reply> {
    ctx.session()?.destroy()?;
    Ok(Reply::redirect("/sign-in"))
}
