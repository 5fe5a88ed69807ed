//! `${VAR}` in any string value of the config.
//!
//! Forms: `${NAME}` (must be set), `${NAME:-default}` (default when unset or empty), and `$$`
//! for a literal `$`. Substitution happens on parsed values, never on the raw text, so a value
//! containing quotes or newlines cannot change the structure of the file.

use super::ConfigProblem;
use crate::settings::join;

/// Replace variables in every string of `value`, reporting each failure with its key path.
pub fn interpolate_value(
    value: &mut toml::Value,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<ConfigProblem>,
) {
    match value {
        toml::Value::String(s) => match interpolate_str(s, env) {
            Ok(out) => *s = out,
            Err(message) => problems.push(ConfigProblem::new(path, message)),
        },
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate_value(item, &format!("{path}[{i}]"), env, problems);
            }
        }
        toml::Value::Table(table) => {
            for (key, item) in table.iter_mut() {
                interpolate_value(item, &join(path, key), env, problems);
            }
        }
        _ => {}
    }
}

/// Substitute variables in one string.
pub fn interpolate_str(
    input: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| "`${` without a closing `}`".to_string())?;
            let expr = &body[..end];
            let (name, default) = match expr.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (expr, None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("`${{{expr}}}` is not a valid variable name"));
            }
            match (env(name).filter(|v| !v.is_empty()), default) {
                (Some(value), _) => out.push_str(&value),
                (None, Some(default)) => out.push_str(default),
                (None, None) => {
                    return Err(format!(
                        "environment variable {name} is not set (referenced as ${{{name}}})"
                    ));
                }
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cret".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_defaults_and_escapes() {
        assert_eq!(interpolate_str("a ${TOKEN} b", &env).unwrap(), "a s3cret b");
        assert_eq!(interpolate_str("${NOPE:-x}", &env).unwrap(), "x");
        assert_eq!(interpolate_str("${EMPTY:-d}", &env).unwrap(), "d");
        assert_eq!(
            interpolate_str("cost $$5 and $x", &env).unwrap(),
            "cost $5 and $x"
        );
    }

    #[test]
    fn an_unset_variable_is_named() {
        let err = interpolate_str("${MISSING_VAR}", &env).unwrap_err();
        assert!(err.contains("MISSING_VAR"), "{err}");
        assert!(interpolate_str("${BAD-NAME}", &env).is_err());
        assert!(interpolate_str("${OPEN", &env).is_err());
    }

    #[test]
    fn reports_the_key_path() {
        let mut value: toml::Value =
            toml::from_str("[[sources]]\nsecret = ['${A1}', 'ok']").unwrap();
        let mut problems = Vec::new();
        interpolate_value(&mut value, "", &env, &mut problems);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "sources[0].secret[0]");
    }
}
