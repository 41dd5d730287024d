//! HTML pages: minijinja templates (HTML auto-escaping: notes are user text) and the layout every
//! page shares (header with the sign-out form, flash messages).

use std::sync::OnceLock;

use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, Value, context};
use serde::{Deserialize, Serialize};
use webstir::{Ctx, Error, Reply, Result};

/// The signed-in user, as kept in the session under `user`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct User {
    pub(crate) id: i64,
    pub(crate) email: String,
}

/// The session's user, if someone is signed in.
pub(crate) fn user(ctx: &Ctx) -> Result<Option<User>> {
    ctx.session()?.get::<User>("user")
}

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // `errors.fields.title` is simply empty when the form has no such errors.
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        for (name, source) in [
            ("layout.html", include_str!("templates/layout.html")),
            ("account.html", include_str!("templates/account.html")),
            ("notes.html", include_str!("templates/notes.html")),
            ("panel.html", include_str!("templates/panel.html")),
            ("edit.html", include_str!("templates/edit.html")),
            ("message.html", include_str!("templates/message.html")),
        ] {
            env.add_template(name, source)
                .expect("the embedded templates parse");
        }
        env
    })
}

/// Renders one template (names ending in `.html` are auto-escaped).
pub(crate) fn render(name: &str, data: Value) -> Result<String> {
    templates()
        .get_template(name)
        .and_then(|t| t.render(data))
        .map_err(|err| Error::msg(format!("template {name}: {err:#}")))
}

/// A full page: `template` rendered with `data`, inside the layout. Flash messages delivered to
/// this request are shown once (those with text: a handler sets the text only on success).
pub(crate) fn page(
    ctx: &Ctx,
    title: &str,
    user: Option<&User>,
    template: &str,
    data: Value,
) -> Result<Reply> {
    let content = render(template, data)?;
    let session = ctx.session()?;
    let flash: Vec<Value> = session
        .flash_messages()
        .iter()
        .filter_map(|m| {
            m.text()
                .map(|text| context! { key => m.key(), level => m.level(), text => text })
        })
        .collect();
    let sign_out_token = user.map(|_| session.csrf_token("signOut"));
    let html = render(
        "layout.html",
        context! {
            title,
            user => Serde(user),
            sign_out_token,
            flash,
            content => Value::from_safe_string(content),
        },
    )?;
    Ok(Reply::html(html))
}

/// A small page with a heading and a message (e.g. 404), with `status`.
pub(crate) fn message(ctx: &Ctx, user: Option<&User>, status: u16, text: &str) -> Result<Reply> {
    let reply = page(
        ctx,
        text,
        user,
        "message.html",
        context! { heading => text },
    )?;
    Ok(reply.status(status))
}
