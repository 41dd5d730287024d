use std::fmt;

/// One problem found while validating a manifest: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidationIssue {
    /// Dotted path to the offending field, e.g. `routes.0.method`.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl ValidationIssue {
    /// An issue at `path` (dotted, e.g. `routes.0.method`) described by `message`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ValidationIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Errors of the manifest contract.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The manifest does not satisfy the contract.
    #[error("module manifest validation failed ({})", join(.0))]
    Invalid(Vec<ValidationIssue>),
    /// The manifest is not valid JSON or does not have the contract's shape.
    #[error("module manifest is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

fn join(issues: &[ValidationIssue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
