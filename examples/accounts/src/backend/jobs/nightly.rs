//! `nightly`: marks every account as synced.

use webstir::{JobContext, Result, params, tracing};

/// Run the nightly account sync.
pub(crate) async fn run(ctx: JobContext) -> Result<()> {
    let synced = ctx
        .db()
        .execute("UPDATE accounts SET synced_at = ?", params![ctx.now()])
        .await?;
    tracing::info!(accounts = synced, "[nightly] accounts synced");
    Ok(())
}
