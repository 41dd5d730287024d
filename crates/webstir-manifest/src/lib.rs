//! The webstir module contract.
//!
//! This crate is the stable core shared by the runtime (`webstir`) and the CLI (`webstir-cli`): the serde
//! types of the module manifest (`.webstir/backend-manifest.json`), their validation, and the schedule
//! syntax of jobs. It has no async or HTTP dependencies and changes rarely.
//!
//! JSON field names and shapes match the original webstir contract (contract version `1.0.0`), so a
//! manifest written by webstir in Rust is interchangeable with one written by the original runtime.
//!
//! # Building values
//!
//! The contract grows by adding optional fields and enum variants, so its structs and enums are
//! `#[non_exhaustive]`: fields stay `pub` for reading and changing, but outside this crate values
//! are built with constructors instead of struct literals. Each struct has a `new(required…)`
//! constructor (or `Default` when every field is optional) and `#[must_use]` builder methods named
//! after the optional fields, e.g. `SessionSpec::new(SessionMode::Required).write(true)`,
//! `FormSpec::urlencoded().csrf(true)` or `AccessRule::authenticated().scopes(["accounts:read"])`.
//! A `match` on one of the enums needs a wildcard arm.
//!
//! ```
//! use webstir_manifest::{AccessRule, HttpMethod, JobDefinition, ModuleManifest, RouteDefinition};
//!
//! let manifest = ModuleManifest::new("@demo/backend", "0.1.0")
//!     .route(
//!         RouteDefinition::new("listAccounts", HttpMethod::Get, "/api/accounts")
//!             .auth(AccessRule::authenticated().scopes(["accounts:read"])),
//!     )
//!     .job(JobDefinition::new("nightly").schedule("@daily"));
//! manifest.validate().unwrap();
//! let json = serde_json::to_value(&manifest).unwrap();
//! assert_eq!(json["contractVersion"], "1.0.0");
//! assert_eq!(json["routes"][0]["method"], "GET");
//! ```

mod error;
mod manifest;
mod route;
pub mod schedule;
mod validate;

pub use error::{ManifestError, ValidationIssue};
pub use manifest::{
    CONTRACT_VERSION, EventDefinition, JobDefinition, JobPriority, ModuleKind, ModuleManifest,
    RequestHookDefinition, RequestHookPhase, ServiceDefinition, ViewDefinition,
};
pub use route::{
    AccessMode, AccessRule, ErrorCode, ErrorSpec, FlashPublish, FlashSpec, FormContentType,
    FormSpec, FragmentMode, FragmentSpec, HookRef, HttpMethod, Interaction, RedirectSpec,
    RenderMode, ResponseSpec, RouteDefinition, RouteInput, RouteOutput, SchemaKind, SchemaRefError,
    SchemaReference, SessionMode, SessionSpec, SsgSpec,
};
pub use schedule::{Schedule, ScheduleError};
pub use validate::{RoutePathError, check_route_path, normalize_path, route_key};
