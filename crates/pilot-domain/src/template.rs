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
//!
//! [`lookups`] lists the variable paths a setting reads (`trigger.customer.email`),
//! by the same tokens: the engine names a missing variable by the first of them its
//! context lacks.

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
    let mut found = false;
    let complete = scan(text, form, |tokens| {
        let mut after_dot = false;
        for token in tokens {
            if !after_dot && matches!(token, Token::Ident(ident) if *ident == name) {
                found = true;
                return;
            }
            after_dot = matches!(token, Token::Dot);
        }
    });
    complete && found
}

/// The variable paths `text`, rendered in `form`, looks up, in the order they first
/// appear, each once: a top-level name followed by its `.attribute`s and
/// `['literal']` subscripts (`trigger.customer.email`, `steps.summarize.output`,
/// `secrets['TOKEN']` as `["secrets", "TOKEN"]`). A path stops at anything else (a
/// computed subscript, a call, a filter). Filters, tests, called functions and
/// names being assigned are not lookups; names the template binds itself (loop
/// variables) are: the caller knows which roots it provides.
/// Nothing for a setting that does not compile.
pub fn lookups(text: &str, form: Form) -> Vec<Vec<String>> {
    let mut paths: Vec<Vec<String>> = Vec::new();
    scan(text, form, |tokens| {
        let mut i = 0;
        // After `.`, `|` or `is` (`is not`) an identifier is an attribute, a
        // filter or a test: not a variable.
        let mut not_a_variable = false;
        while i < tokens.len() {
            let Token::Ident(root) = &tokens[i] else {
                not_a_variable = matches!(tokens[i], Token::Dot | Token::Pipe);
                i += 1;
                continue;
            };
            let called_or_bound =
                matches!(tokens.get(i + 1), Some(Token::ParenOpen | Token::Assign));
            if not_a_variable || called_or_bound || is_keyword(root) {
                not_a_variable = *root == "is" || (*root == "not" && not_a_variable);
                i += 1;
                continue;
            }
            let mut path = vec![(*root).to_owned()];
            i += 1;
            loop {
                match (tokens.get(i), tokens.get(i + 1), tokens.get(i + 2)) {
                    (Some(Token::Dot), Some(Token::Ident(name)), _) => {
                        path.push((*name).to_owned());
                        i += 2;
                    }
                    (
                        Some(Token::BracketOpen),
                        Some(Token::Str(name)),
                        Some(Token::BracketClose),
                    ) => {
                        path.push((*name).to_owned());
                        i += 3;
                    }
                    (
                        Some(Token::BracketOpen),
                        Some(Token::String(name)),
                        Some(Token::BracketClose),
                    ) => {
                        path.push(name.to_string());
                        i += 3;
                    }
                    _ => break,
                }
            }
            not_a_variable = false;
            if !paths.contains(&path) {
                paths.push(path);
            }
        }
    });
    paths
}

/// Words of the template language that the lexer reads as identifiers.
fn is_keyword(ident: &str) -> bool {
    matches!(
        ident,
        "and"
            | "or"
            | "not"
            | "in"
            | "is"
            | "if"
            | "else"
            | "elif"
            | "endif"
            | "for"
            | "endfor"
            | "set"
            | "endset"
            | "with"
            | "endwith"
            | "macro"
            | "endmacro"
            | "call"
            | "endcall"
            | "filter"
            | "endfilter"
            | "block"
            | "endblock"
            | "extends"
            | "include"
            | "import"
            | "from"
            | "as"
            | "raw"
            | "endraw"
            | "autoescape"
            | "endautoescape"
            | "true"
            | "false"
            | "none"
            | "True"
            | "False"
            | "None"
            | "recursive"
            | "continue"
            | "break"
            | "do"
    )
}

/// Compiles `text` in `form` and hands `read` its tokens; false (and `read` is not
/// called) when it does not compile or lex.
fn scan(text: &str, form: Form, read: impl FnOnce(&[Token<'_>])) -> bool {
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
    let mut tokens = Vec::new();
    for token in tokenize(source, in_expr, env.syntax().clone()) {
        let Ok((token, _)) = token else {
            return false;
        };
        tokens.push(token);
    }
    read(&tokens);
    true
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

    #[test]
    fn lookups_are_the_paths_a_setting_reads_in_order() {
        let paths = |text, form| {
            lookups(text, form)
                .into_iter()
                .map(|path| path.join("."))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            paths(
                "{{ trigger.text | upper }} {{ steps.summarize.output }} {{ trigger.text }}",
                Form::Template
            ),
            ["trigger.text", "steps.summarize.output"]
        );
        assert_eq!(
            paths("{{ secrets['TOKEN'] ~ trigger.a[0] }}", Form::Template),
            ["secrets.TOKEN", "trigger.a"]
        );
        assert_eq!(
            paths(
                "{% for item in trigger.items if not item.x %}{{ item.name }}{% endfor %}",
                Form::Template
            ),
            ["item", "trigger.items", "item.x", "item.name"]
        );
        assert_eq!(
            paths(
                "trigger.total > 10 and trigger.ok is not defined",
                Form::Expression
            ),
            ["trigger.total", "trigger.ok"]
        );
        assert!(paths("{{ broken", Form::Template).is_empty());
        assert!(paths("plain", Form::Template).is_empty());
    }
}
