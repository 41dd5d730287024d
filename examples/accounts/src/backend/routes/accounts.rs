//! `/api/accounts` handlers.

use serde::Deserialize;
use serde_json::json;
use webstir::{Ctx, Error, Reply, Result, tracing};

use crate::store;

/// `GET /api/accounts`
pub(crate) async fn list(ctx: Ctx) -> Result<Reply> {
    let accounts = store::list();
    Ok(Reply::json(&json!({
        "accounts": accounts,
        "greetedAt": ctx.now().to_string(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAccount {
    email: String,
    #[serde(default)]
    name: String,
}

/// `POST /api/accounts` with `{"email": "...", "name": "..."}`.
pub(crate) async fn create(ctx: Ctx) -> Result<Reply> {
    let input: NewAccount = ctx.json()?;
    let email = input.email.trim();
    if !email.contains('@') || email.len() > 254 {
        return Err(Error::validation("email must be an email address")
            .with_details(json!({ "field": "email" })));
    }
    let account = store::insert(email, input.name.trim())
        .map_err(|()| Error::conflict(format!("an account with email {email} already exists")))?;
    tracing::info!(account_id = account.id, "account created");
    Ok(Reply::json(&json!({ "account": account })).status(201))
}

/// `GET /api/accounts/:id`
pub(crate) async fn get(ctx: Ctx) -> Result<Reply> {
    let id: i64 = ctx.param_as("id")?;
    let account =
        store::find(id).ok_or_else(|| Error::not_found(format!("account {id} does not exist")))?;
    Ok(Reply::json(&json!({ "account": account })))
}
