//! Stand-in for the PostgreSQL engine when the `postgres` feature is off.
//!
//! The types are uninhabited: [`Db::connect`](crate::Db::connect) refuses PostgreSQL URLs with
//! [`Error::EngineDisabled`], so none of these methods can ever be called.

use std::sync::Arc;

use crate::error::Error;
use crate::exec::{Mode, Output};
use crate::value::Value;

/// Never constructed.
#[derive(Debug)]
pub(crate) enum Postgres {}

/// Never constructed.
pub(crate) enum PgTx {}

impl Postgres {
    pub(crate) async fn run(&self, _: &str, _: &[Value], _: Mode) -> Result<Output, Error> {
        match *self {}
    }

    pub(crate) async fn run_batch(&self, _: &str) -> Result<(), Error> {
        match *self {}
    }

    pub(crate) async fn ping(&self) -> Result<(), Error> {
        match *self {}
    }

    pub(crate) async fn begin(self: &Arc<Self>) -> Result<PgTx, Error> {
        match **self {}
    }
}

impl PgTx {
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
