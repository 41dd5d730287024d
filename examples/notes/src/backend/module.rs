//! The module: every route and the view, declared once (the manifest shows the same).

use webstir::{FlashPublish, FlashSpec, FragmentMode, Module, Route, SessionMode, View};

use crate::routes::{about, account, notes};

/// Flash a route publishes after a successful submission (status below 400).
fn publishes(key: &str) -> FlashSpec {
    FlashSpec::default().publish(FlashPublish::new(key).level("success").when("success"))
}

/// The notes module.
pub(crate) fn module() -> Module {
    Module::new("@demo/notes", "0.1.0")
        .capabilities(["http", "db", "views"])
        .migrations(webstir::migrations_dir!())
        .route(Route::get("/").name("home").handler(notes::home))
        .route(
            Route::get("/app.css")
                .name("stylesheet")
                .handler(notes::stylesheet),
        )
        // Accounts: the pages read the session (tokens, kept forms); the posts write it.
        .route(
            Route::get("/sign-up")
                .name("signUpPage")
                .session(SessionMode::Optional, false)
                .handler(account::sign_up_page),
        )
        .route(
            Route::post("/sign-up")
                .name("signUp")
                .session(SessionMode::Optional, true)
                .form_urlencoded(true)
                .flash(publishes("signed-in"))
                .handler(account::sign_up),
        )
        .route(
            Route::get("/sign-in")
                .name("signInPage")
                .session(SessionMode::Optional, false)
                .handler(account::sign_in_page),
        )
        .route(
            Route::post("/sign-in")
                .name("signIn")
                .session(SessionMode::Optional, true)
                .form_urlencoded(true)
                .flash(publishes("signed-in"))
                .handler(account::sign_in),
        )
        .route(
            Route::post("/sign-out")
                .name("signOut")
                .session(SessionMode::Optional, true)
                .form_urlencoded(true)
                .handler(account::sign_out),
        )
        // Notes: signed-in users only (the handlers redirect others to /sign-in).
        .route(
            Route::get("/notes")
                .name("notesPage")
                .session(SessionMode::Optional, false)
                .flash(
                    FlashSpec::default()
                        .consume("signed-in")
                        .consume("note-saved")
                        .consume("note-deleted"),
                )
                .handler(notes::list),
        )
        .route(
            Route::post("/notes")
                .name("createNote")
                .session(SessionMode::Optional, false)
                .form_urlencoded(true)
                .flash(publishes("note-saved"))
                .handler(notes::create),
        )
        .route(
            Route::get("/notes/panel")
                .name("notesPanel")
                .session(SessionMode::Optional, false)
                .fragment(
                    "note-count",
                    Some("#note-count"),
                    Some(FragmentMode::Replace),
                )
                .handler(notes::panel),
        )
        .route(
            Route::get("/notes/:id/edit")
                .name("editNotePage")
                .session(SessionMode::Optional, false)
                .handler(notes::edit_page),
        )
        .route(
            Route::post("/notes/:id")
                .name("updateNote")
                .session(SessionMode::Optional, false)
                .form_urlencoded(true)
                .flash(publishes("note-saved"))
                .handler(notes::update),
        )
        .route(
            Route::post("/notes/:id/delete")
                .name("deleteNote")
                .session(SessionMode::Optional, false)
                .form_urlencoded(true)
                .flash(publishes("note-deleted"))
                .handler(notes::delete),
        )
        // A request-time view: build/frontend/pages/about/index.html with the loader's data.
        .view(
            View::get("/about")
                .name("about")
                .summary("What this app is, with live counts")
                .loader(about::load),
        )
}
