//! The notes pages and their forms: list, create, edit, delete, and the count panel fragment.
//! Every form posts with a CSRF token and answers 303 (redirect-after-post); a failed one keeps
//! its values and errors for the page it redirects to.

use minijinja::value::Serde;
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};
use webstir::forms::{FormErrors, KeptForm};
use webstir::{Ctx, FragmentMode, Reply, Result, params};

use crate::pages::{self, User};

/// A note as the pages show it.
#[derive(Debug, Serialize, Deserialize)]
struct Note {
    id: i64,
    title: String,
    body: String,
}

/// What the note forms post (and what a failed submission keeps).
#[derive(Debug, Default, Serialize, Deserialize)]
struct NoteForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
}

impl NoteForm {
    fn validate(&self) -> FormErrors {
        let mut errors = FormErrors::new();
        let title = self.title.trim();
        if title.is_empty() {
            errors = errors.field("title", "Title is required");
        } else if title.chars().count() > 120 {
            errors = errors.field("title", "Title must be at most 120 characters");
        }
        if self.body.chars().count() > 5000 {
            errors = errors.field("body", "Text must be at most 5000 characters");
        }
        errors
    }
}

/// The kept submission for `route`, or empty values and no errors.
fn kept_or_empty(kept: Option<KeptForm>) -> (serde_json::Value, FormErrors) {
    match kept {
        Some(KeptForm { values, errors, .. }) => (values, errors),
        None => (serde_json::json!({}), FormErrors::new()),
    }
}

/// `GET /` → the notes.
pub(crate) async fn home(_ctx: Ctx) -> Result<Reply> {
    Ok(Reply::redirect("/notes"))
}

/// `GET /app.css`
pub(crate) async fn stylesheet(_ctx: Ctx) -> Result<Reply> {
    Ok(Reply::bytes(include_str!("../templates/app.css"))
        .header("content-type", "text/css; charset=utf-8")
        .header("cache-control", "no-cache"))
}

fn sign_in_first() -> Reply {
    Reply::redirect("/sign-in")
}

async fn panel_html(ctx: &Ctx, user: &User) -> Result<String> {
    let count: i64 = ctx
        .db()
        .query_one(
            "SELECT COUNT(*) FROM notes WHERE user_id = ?",
            params![user.id],
        )
        .await?;
    let latest: Option<String> = ctx
        .db()
        .query_optional(
            "SELECT title FROM notes WHERE user_id = ? ORDER BY id DESC LIMIT 1",
            params![user.id],
        )
        .await?;
    let at = ctx.now().strftime("%H:%M:%S").to_string();
    pages::render("panel.html", context! { count, latest, at })
}

/// `GET /notes`: the user's notes, the new-note form (with a kept failed submission) and the
/// count panel.
pub(crate) async fn list(ctx: Ctx) -> Result<Reply> {
    let Some(user) = pages::user(&ctx)? else {
        return Ok(sign_in_first());
    };
    let notes: Vec<Note> = ctx
        .db()
        .query_as(
            "SELECT id, title, body FROM notes WHERE user_id = ? ORDER BY id DESC",
            params![user.id],
        )
        .await?;
    let panel = panel_html(&ctx, &user).await?;
    let session = ctx.session()?;
    let (values, errors) = kept_or_empty(session.take_form("createNote"));
    let data = context! {
        notes => Serde(&notes),
        values => Serde(&values),
        errors => Serde(&errors),
        panel => Value::from_safe_string(panel),
        create_token => session.csrf_token("createNote"),
        delete_token => session.csrf_token("deleteNote"),
    };
    pages::page(&ctx, "Your notes", Some(&user), "notes.html", data)
}

/// `GET /notes/panel`: the count panel as a fragment for `#note-count` (the page's inline script
/// fetches it; without JavaScript the page renders the same panel).
pub(crate) async fn panel(ctx: Ctx) -> Result<Reply> {
    let Some(user) = pages::user(&ctx)? else {
        return Ok(Reply::fragment("note-count", "<p>Sign in to see your notes.</p>").status(401));
    };
    let html = panel_html(&ctx, &user).await?;
    Ok(Reply::fragment("note-count", html)
        .selector("#note-count")
        .mode(FragmentMode::Replace))
}

/// `POST /notes` (title, body)
pub(crate) async fn create(ctx: Ctx) -> Result<Reply> {
    let Some(user) = pages::user(&ctx)? else {
        return Ok(sign_in_first());
    };
    let form: NoteForm = ctx.form()?;
    let errors = form.validate();
    if !errors.is_empty() {
        ctx.session()?.keep_form("createNote", &form, &errors)?;
        return Ok(Reply::redirect("/notes"));
    }
    ctx.db()
        .execute(
            "INSERT INTO notes (user_id, title, body, updated_at) VALUES (?, ?, ?, ?)",
            params![
                user.id,
                form.title.trim(),
                &form.body,
                ctx.now().to_string()
            ],
        )
        .await?;
    ctx.flash("note-saved", "Note saved")?;
    Ok(Reply::redirect("/notes"))
}

async fn own_note(ctx: &Ctx, user: &User, id: i64) -> Result<Option<Note>> {
    Ok(ctx
        .db()
        .query_optional(
            "SELECT id, title, body FROM notes WHERE id = ? AND user_id = ?",
            params![id, user.id],
        )
        .await?)
}

fn not_found(ctx: &Ctx, user: &User) -> Result<Reply> {
    pages::message(ctx, Some(user), 404, "Note not found")
}

/// `GET /notes/:id/edit`: the edit form, with the kept failed submission for this note if any.
pub(crate) async fn edit_page(ctx: Ctx) -> Result<Reply> {
    let Some(user) = pages::user(&ctx)? else {
        return Ok(sign_in_first());
    };
    let id: i64 = ctx.param_as("id")?;
    let Some(note) = own_note(&ctx, &user, id).await? else {
        return not_found(&ctx, &user);
    };
    let session = ctx.session()?;
    let (values, errors) = match session.take_form("updateNote") {
        Some(kept) if kept.values["id"] == id => kept_or_empty(Some(kept)),
        _ => (
            serde_json::json!({ "title": note.title, "body": note.body }),
            FormErrors::new(),
        ),
    };
    let data = context! {
        id,
        values => Serde(&values),
        errors => Serde(&errors),
        update_token => session.csrf_token("updateNote"),
    };
    pages::page(&ctx, "Edit note", Some(&user), "edit.html", data)
}

/// `POST /notes/:id` (title, body)
pub(crate) async fn update(ctx: Ctx) -> Result<Reply> {
    let Some(user) = pages::user(&ctx)? else {
        return Ok(sign_in_first());
    };
    let id: i64 = ctx.param_as("id")?;
    let form: NoteForm = ctx.form()?;
    let errors = form.validate();
    if !errors.is_empty() {
        let values = serde_json::json!({ "id": id, "title": form.title, "body": form.body });
        ctx.session()?.keep_form("updateNote", values, &errors)?;
        return Ok(Reply::redirect(format!("/notes/{id}/edit")));
    }
    let changed = ctx
        .db()
        .execute(
            "UPDATE notes SET title = ?, body = ?, updated_at = ? WHERE id = ? AND user_id = ?",
            params![
                form.title.trim(),
                &form.body,
                ctx.now().to_string(),
                id,
                user.id
            ],
        )
        .await?;
    if changed == 0 {
        return not_found(&ctx, &user);
    }
    ctx.flash("note-saved", "Note saved")?;
    Ok(Reply::redirect("/notes"))
}

/// `POST /notes/:id/delete`
pub(crate) async fn delete(ctx: Ctx) -> Result<Reply> {
    let Some(user) = pages::user(&ctx)? else {
        return Ok(sign_in_first());
    };
    let id: i64 = ctx.param_as("id")?;
    let deleted = ctx
        .db()
        .execute(
            "DELETE FROM notes WHERE id = ? AND user_id = ?",
            params![id, user.id],
        )
        .await?;
    if deleted == 0 {
        return not_found(&ctx, &user);
    }
    ctx.flash("note-deleted", "Note deleted")?;
    Ok(Reply::redirect("/notes"))
}
