//! `/api/accounts` handlers. Every route requires a signed-in caller (declared in `module.rs`, enforced
//! by the runtime before the handler runs); users see their own accounts, service tokens see all.

use serde::{Deserialize, Serialize};
use serde_json::json;
use webstir::{Ctx, Error, Reply, Result, Value, params, tracing};

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

/// Whose accounts the caller may see: `Some(user)` for a user, `None` for a service (all accounts).
fn scope(ctx: &Ctx) -> Result<Option<String>> {
    let auth = ctx
        .auth()
        .ok_or_else(|| Error::unauthorized("Sign in required"))?;
    if auth.has_scope("service") {
        return Ok(None);
    }
    auth.user_id
        .clone()
        .map(Some)
        .ok_or_else(|| Error::unauthorized("The credential names no user"))
}

/// `GET /api/accounts`
pub(crate) async fn list(ctx: Ctx) -> Result<Reply> {
    let accounts: Vec<Account> = match scope(&ctx)? {
        Some(owner) => {
            ctx.db()
                .query_as(
                    &format!("SELECT {COLUMNS} FROM accounts WHERE owner_id = ? ORDER BY id"),
                    params![owner],
                )
                .await?
        }
        None => {
            ctx.db()
                .query_as(
                    &format!("SELECT {COLUMNS} FROM accounts ORDER BY id"),
                    params![],
                )
                .await?
        }
    };
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
    /// Only services may create accounts for someone else.
    owner_id: Option<String>,
}

/// `POST /api/accounts` with `{"email": "...", "name": "..."}`. A taken email is a 409 (the unique
/// constraint, mapped by the runtime).
pub(crate) async fn create(ctx: Ctx) -> Result<Reply> {
    let input: NewAccount = ctx.json()?;
    let owner = match (scope(&ctx)?, input.owner_id) {
        (Some(user), _) => user,
        (None, Some(owner)) => owner,
        (None, None) => return Err(Error::validation("owner_id is required for service calls")),
    };
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
            params![owner, email, input.name.trim()],
        )
        .await?;
    tracing::info!(account_id = account.id, "account created");
    Ok(Reply::json(&json!({ "account": account })).status(201))
}

async fn find(ctx: &Ctx, id: i64) -> Result<Account> {
    let owner = scope(ctx)?;
    let account: Option<Account> = ctx
        .db()
        .query_optional(
            &format!("SELECT {COLUMNS} FROM accounts WHERE id = ? AND (CAST(? AS TEXT) IS NULL OR owner_id = ?)"),
            &[Value::from(id), Value::from(owner.clone()), Value::from(owner)],
        )
        .await?;
    account.ok_or_else(|| Error::not_found(format!("account {id} does not exist")))
}

/// `GET /api/accounts/:id`
pub(crate) async fn get(ctx: Ctx) -> Result<Reply> {
    let id: i64 = ctx.param_as("id")?;
    let account = find(&ctx, id).await?;
    Ok(Reply::json(&json!({ "account": account })))
}

/// `DELETE /api/accounts/:id` (scope `accounts:write`)
pub(crate) async fn delete(ctx: Ctx) -> Result<Reply> {
    let id: i64 = ctx.param_as("id")?;
    let account = find(&ctx, id).await?;
    ctx.db()
        .execute("DELETE FROM accounts WHERE id = ?", params![account.id])
        .await?;
    Ok(Reply::empty())
}
