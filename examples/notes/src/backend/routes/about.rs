//! The `/about` view's loader: the data build/frontend/pages/about/index.html renders.

use serde::Serialize;
use webstir::{Ctx, Result, params};

/// What the about page shows.
#[derive(Serialize)]
pub(crate) struct About {
    users: i64,
    notes: i64,
}

/// Loads the counts the page shows (no session: views are public pages).
pub(crate) async fn load(ctx: Ctx) -> Result<About> {
    let users: i64 = ctx
        .db()
        .query_one("SELECT COUNT(*) FROM users", params![])
        .await?;
    let notes: i64 = ctx
        .db()
        .query_one("SELECT COUNT(*) FROM notes", params![])
        .await?;
    Ok(About { users, notes })
}
