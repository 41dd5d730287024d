//! `/api/accounts` handlers.

use serde::{Deserialize, Serialize};
use serde_json::json;
use webstir::{Ctx, Error, Reply, Result, params, tracing};

/// An account row.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub(crate) struct Account {
    pub(crate) id: i64,
    pub(crate) owner_id: String,
    pub(crate) email: String,
    pub(crate) name: String,
    pub(crate) synced_at: Option<String>,
}

const COLUMNS: &str = "id, owner_id, email, name, synced_at";

/// `GET /api/accounts`
pub(crate) async fn list(ctx: Ctx) -> Result<Reply> {
    let accounts: Vec<Account> = ctx
        .db()
        .query_as(
            &format!("SELECT {COLUMNS} FROM accounts ORDER BY id"),
            params![],
        )
        .await?;
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

/// `POST /api/accounts` with `{"email": "...", "name": "..."}`. A taken email is a 409 (the unique
/// constraint, mapped by the runtime).
pub(crate) async fn create(ctx: Ctx) -> Result<Reply> {
    let input: NewAccount = ctx.json()?;
    let email = input.email.trim();
    if !email.contains('@') || email.len() > 254 {
        return Err(Error::validation("email must be an email address")
            .with_details(json!({ "field": "email" })));
    }
    let account: Account = ctx
        .db()
        .query_one(
            &format!(
                "INSERT INTO accounts (owner_id, email, name) VALUES (?, ?, ?) RETURNING {COLUMNS}"
            ),
            params!["user-1", email, input.name.trim()],
        )
        .await?;
    tracing::info!(account_id = account.id, "account created");
    Ok(Reply::json(&json!({ "account": account })).status(201))
}

/// `GET /api/accounts/:id`
pub(crate) async fn get(ctx: Ctx) -> Result<Reply> {
    let id: i64 = ctx.param_as("id")?;
    let account: Option<Account> = ctx
        .db()
        .query_optional(
            &format!("SELECT {COLUMNS} FROM accounts WHERE id = ?"),
            params![id],
        )
        .await?;
    let account =
        account.ok_or_else(|| Error::not_found(format!("account {id} does not exist")))?;
    Ok(Reply::json(&json!({ "account": account })))
}
