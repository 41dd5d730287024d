//! The module: manifest metadata, routes and jobs, declared once.

use webstir::{FragmentMode, Job, Module, Route};

use crate::{jobs, routes};

/// The accounts module.
pub(crate) fn module() -> Module {
    Module::new("@demo/accounts", "0.1.0")
        .capabilities(["http", "db"])
        .migrations(webstir::migrations_dir!())
        .route(
            Route::get("/api/accounts")
                .name("listAccounts")
                .summary("List accounts")
                .description("Returns the signed-in user's accounts")
                .tags(["accounts", "api"])
                .authenticated()
                .handler(routes::accounts::list),
        )
        .route(
            Route::post("/api/accounts")
                .name("createAccount")
                .summary("Create an account")
                .tags(["accounts", "api"])
                .body_schema("json-schema:NewAccount")
                .authenticated()
                .handler(routes::accounts::create),
        )
        .route(
            Route::get("/api/accounts/:id")
                .name("getAccount")
                .summary("One account by id")
                .tags(["accounts", "api"])
                .authenticated()
                .handler(routes::accounts::get),
        )
        .route(
            Route::delete("/api/accounts/:id")
                .name("deleteAccount")
                .summary("Delete one account")
                .tags(["accounts", "api"])
                .scopes(["accounts:write"])
                .handler(routes::accounts::delete),
        )
        .route(
            Route::post("/api/welcome")
                .name("welcome")
                .summary("Form post that redirects")
                .form_urlencoded(false)
                .handler(routes::welcome::submit),
        )
        .route(
            Route::get("/api/greeting/:name")
                .name("greeting")
                .summary("Greeting fragment")
                .fragment("greeting", None, Some(FragmentMode::Replace))
                .handler(routes::welcome::greeting),
        )
        .job(
            Job::new("nightly")
                .schedule("0 0 * * *")
                .description("Nightly account sync")
                .priority(5)
                .run(jobs::nightly::run),
        )
}
