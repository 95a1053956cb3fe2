//! What a step's templates are, read without rendering them: which variables a
//! template or expression looks up, by minijinja's own parser and lexer.
//!
//! Settings are rendered by the engine (`pilot-engine`'s `steps::template`) in one of
//! two forms, and this module reads them in the same two:
//!
//! * a **template** — any string with `{{` or `{%`; a string without either is used
//!   as it is and looks nothing up;
//! * an **expression** — a `condition`'s `if`, bare (`trigger.total > 10`) or braced
//!   (`{{ trigger.total > 10 }}`), and a `transform` value that is exactly one
//!   `{{ expression }}` (which keeps the expression's type): see [`single_expression`].
//!
//! [`reads`] answers "may this setting look up `name`?" with minijinja's own lexer:
//! the setting must compile (one that does not cannot render, so the step fails
//! when it runs, reading nothing), and then any identifier token `name` that is not
//! an attribute (`trigger.secrets`) counts — through filters, slices, `{% set %}`,
//! loops, macros and call arguments alike, and also where the template only binds
//! the name (`{% set secrets = 1 %}`): over-cautious there, never blind. Tokens,
//! not minijinja's `undeclared_variables`: that analysis (3.1) misses a sliced
//! value (`{{ secrets.TOKEN[1:] }}`) and a name rebound to itself
//! (`{% set secrets = secrets %}`). The lexer is behind minijinja's
//! `unstable_machinery` feature, pinned by `Cargo.lock`.

use minijinja::Environment;
use minijinja::machinery::{Token, tokenize};

/// How a setting is rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    Template,
    Expression,
}

/// `Some(expr)` when `text` is exactly `{{ expr }}` with nothing around it: a value
/// the engine evaluates as one expression, keeping its type.
pub fn single_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then_some(inner.trim())
}

/// Whether `text`, rendered in `form`, may look up the top-level variable `name`.
pub fn reads(text: &str, form: Form, name: &str) -> bool {
    let env = Environment::new();
    let (source, in_expr) = match form {
        Form::Template => {
            if !text.contains("{{") && !text.contains("{%") {
                return false;
            }
            if env.template_from_str(text).is_err() {
                return false;
            }
            (text, false)
        }
        Form::Expression => {
            let bare = single_expression(text).unwrap_or(text.trim());
            if env.compile_expression(bare).is_err() {
                return false;
            }
            (bare, true)
        }
    };
    let mut after_dot = false;
    for token in tokenize(source, in_expr, env.syntax().clone()) {
        let Ok((token, _)) = token else {
            return false;
        };
        if !after_dot && matches!(token, Token::Ident(ident) if ident == name) {
            return true;
        }
        after_dot = matches!(token, Token::Dot);
    }
    false
}

/// How a `transform` value (or an `http` body string) is rendered: one expression
/// keeps its type, anything else is a template.
pub fn form_of_value(text: &str) -> Form {
    if single_expression(text).is_some() {
        Form::Expression
    } else {
        Form::Template
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_expressions_are_exactly_one_pair_of_braces() {
        assert_eq!(single_expression(" {{ trigger.a }} "), Some("trigger.a"));
        assert_eq!(single_expression("{{ a }} and {{ b }}"), None);
        assert_eq!(single_expression("total {{ a }}"), None);
        assert_eq!(form_of_value("{{ a * 2 }}"), Form::Expression);
        assert_eq!(form_of_value("a={{ a }}"), Form::Template);
    }

    #[test]
    fn lookups_are_found_through_filters_blocks_and_calls() {
        for text in [
            "{{ secrets.TOKEN }}",
            "{{ secrets.TOKEN | upper }}",
            "{{ secrets['TOKEN'] | reverse }}",
            "{{ secrets.TOKEN[1:] }}",
            "{{ secrets | list | join('-') }}",
            "{% set t = secrets.TOKEN %}{{ t }}",
            "{% for name, value in secrets | items %}{{ value }}{% endfor %}",
            "{% if trigger.a %}{{ secrets.A }}{% endif %}",
            "{% with t = secrets %}{{ t.A }}{% endwith %}",
            "{% macro m(x=secrets) %}{{ x }}{% endmacro %}{{ m() }}",
            "{{ 'x' ~ secrets.A }}",
            "{% set secrets = secrets %}{{ secrets.A }}",
            "{% macro m(secrets=secrets) %}{{ secrets.A }}{% endmacro %}{{ m() }}",
            "{% raw %}x{% endraw %}{{ secrets.A }}",
            "{{ dict(a=secrets.A).a }}",
            "{% filter upper %}{{ secrets.A }}{% endfilter %}",
        ] {
            assert!(reads(text, Form::Template, "secrets"), "{text}");
        }
        for text in [
            "trigger.a > 1 and secrets.A",
            "{{ secrets.A == 'x' }}",
            "secrets",
        ] {
            assert!(reads(text, Form::Expression, "secrets"), "{text}");
        }
        for text in [
            "plain secrets text",
            "{{ trigger.secrets }}",
            "{{ steps.secrets.output }}",
            "{{ 'secrets' }}",
            "{% raw %}{{ secrets.A }}{% endraw %}",
            "{# {{ secrets.A }} #}",
            "{{ broken",
        ] {
            assert!(!reads(text, Form::Template, "secrets"), "{text}");
        }
        assert!(!reads("trigger.secrets > 1", Form::Expression, "secrets"));
        // Binding the name is refused too: over-cautious, never blind.
        assert!(reads(
            "{% set secrets = 1 %}{{ secrets }}",
            Form::Template,
            "secrets"
        ));
    }
}
