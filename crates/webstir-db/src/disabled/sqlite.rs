//! Stand-in for the SQLite engine when the `sqlite` feature is off.
//!
//! The types are uninhabited: [`Db::connect`](crate::Db::connect) refuses SQLite URLs with
//! [`Error::EngineDisabled`], so none of these methods can ever be called.

use std::sync::Arc;

use crate::error::Error;
use crate::exec::{Mode, Output};
use crate::value::Value;

/// Never constructed.
#[derive(Debug)]
pub(crate) enum Sqlite {}

/// Never constructed.
pub(crate) enum SqliteTx {}

pub(crate) async fn in_transaction_scope<F: Future>(db: &Arc<Sqlite>, _body: F) -> F::Output {
    match **db {}
}

impl Sqlite {
    pub(crate) async fn run(&self, _: &str, _: &[Value], _: Mode) -> Result<Output, Error> {
        match *self {}
    }

    pub(crate) async fn run_batch(&self, _: &str) -> Result<(), Error> {
        match *self {}
    }

    pub(crate) async fn ping(self: &Arc<Self>) -> Result<(), Error> {
        match **self {}
    }

    pub(crate) async fn begin(self: &Arc<Self>) -> Result<SqliteTx, Error> {
        match **self {}
    }
}

impl SqliteTx {
    pub(crate) async fn run(&self, _: &str, _: &[Value], _: Mode) -> Result<Output, Error> {
        match *self {}
    }

    pub(crate) async fn run_batch(&self, _: &str) -> Result<(), Error> {
        match *self {}
    }

    pub(crate) async fn commit(&self) -> Result<(), Error> {
        match *self {}
    }

    pub(crate) async fn rollback(&self) -> Result<(), Error> {
        match *self {}
    }

    pub(crate) fn is_finished(&self) -> bool {
        match *self {}
    }
}
