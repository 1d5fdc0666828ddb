//! Errors of the planning core. All are terminal: they come from bad input, never from the
//! environment, so retrying cannot help.

/// Why a plan, an explanation or a pipeline could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A glob in the intent does not parse.
    #[error("invalid glob `{pattern}` in {owner}: {reason}")]
    InvalidGlob {
        /// The pattern as written.
        pattern: String,
        /// Where it was written (`services.api.paths`, `inputs.shared`, …).
        owner: String,
        /// The parser's complaint.
        reason: String,
    },
    /// A service depends on a library the spec does not define.
    #[error("service `{service}` depends on library `{library}`, which is not defined")]
    UnknownLibrary {
        /// The depending service.
        service: String,
        /// The missing library.
        library: String,
    },
    /// A service depends on a service the spec does not define.
    #[error("service `{service}` depends on service `{dependency}`, which is not defined")]
    UnknownDependency {
        /// The depending service.
        service: String,
        /// The missing service.
        dependency: String,
    },
    /// `--explain` named a service the spec does not define.
    #[error("unknown service `{service}`; known services: {known}")]
    UnknownService {
        /// The name asked for.
        service: String,
        /// Comma-separated known names.
        known: String,
    },
    /// A tag template uses a variable planning cannot fill.
    #[error(
        "tag template `{template}` of service `{service}` uses unknown variable `{{{variable}}}`; \
         known: {{commit}}, {{commit.short}}, {{fingerprint}}, {{fingerprint.short}}, {{service}}"
    )]
    UnknownTagVariable {
        /// The service.
        service: String,
        /// The template.
        template: String,
        /// The variable name without braces.
        variable: String,
    },
    /// A tag template has an unclosed `{`.
    #[error("tag template `{template}` of service `{service}` has an unclosed `{{`")]
    UnclosedTagVariable {
        /// The service.
        service: String,
        /// The template.
        template: String,
    },
}
