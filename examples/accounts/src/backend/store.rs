//! Accounts kept in memory (seeded with two accounts).

use std::sync::{Mutex, OnceLock};

use serde::Serialize;

/// An account.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Account {
    pub(crate) id: i64,
    pub(crate) email: String,
    pub(crate) name: String,
}

fn accounts() -> &'static Mutex<Vec<Account>> {
    static ACCOUNTS: OnceLock<Mutex<Vec<Account>>> = OnceLock::new();
    ACCOUNTS.get_or_init(|| {
        Mutex::new(vec![
            Account {
                id: 1,
                email: "ada@example.com".into(),
                name: "Ada".into(),
            },
            Account {
                id: 2,
                email: "grace@example.com".into(),
                name: "Grace".into(),
            },
        ])
    })
}

pub(crate) fn list() -> Vec<Account> {
    accounts().lock().map(|a| a.clone()).unwrap_or_default()
}

pub(crate) fn find(id: i64) -> Option<Account> {
    list().into_iter().find(|a| a.id == id)
}

/// Insert a new account; `Err(())` when the email is taken.
pub(crate) fn insert(email: &str, name: &str) -> Result<Account, ()> {
    let mut all = accounts().lock().map_err(|_| ())?;
    if all.iter().any(|a| a.email.eq_ignore_ascii_case(email)) {
        return Err(());
    }
    let account = Account {
        id: all.iter().map(|a| a.id).max().unwrap_or(0) + 1,
        email: email.to_owned(),
        name: name.to_owned(),
    };
    all.push(account.clone());
    Ok(account)
}
