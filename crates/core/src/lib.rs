//! DER IQ domain model: the 11 roles, the 8 modules, the role × module permission
//! matrix, callers' data scopes (and their signing for row-level security), and the
//! semantic model of the compliance schema.
//!
//! Everything here is pure data and pure functions; the gateway and the SQL guard build
//! on it.

pub mod module;
pub mod permissions;
pub mod role;
pub mod scope;
pub mod semantic;

pub use module::Module;
pub use permissions::{Access, DataScope, Tier};
pub use role::{Portal, Role};
pub use scope::{Scope, ScopeKey, SignedScope};
pub use semantic::{Column, PiiClass, SemanticModel, Table};
