//! A small command-line parser: `--name value` and `--flag`, each name declared by the
//! command, so a typo is reported with the list of what is allowed.

use std::collections::BTreeMap;
use std::str::FromStr;

use paraformer::Error;

pub struct Args {
    command: &'static str,
    values: BTreeMap<String, String>,
}

/// A declared option: name without dashes, and whether it takes a value.
pub type Spec = (&'static str, bool);

impl Args {
    pub fn parse(command: &'static str, raw: &[String], specs: &[Spec]) -> Result<Args, Error> {
        let mut values = BTreeMap::new();
        let mut it = raw.iter();
        while let Some(arg) = it.next() {
            let Some(name) = arg.strip_prefix("--") else {
                return Err(Error::Usage(format!(
                    "unexpected argument '{arg}' for '{command}'"
                )));
            };
            let (name, inline) = match name.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (name, None),
            };
            let Some(&(_, takes_value)) = specs.iter().find(|(n, _)| *n == name) else {
                let known: Vec<String> = specs.iter().map(|(n, _)| format!("--{n}")).collect();
                return Err(Error::Usage(format!(
                    "unknown option '--{name}' for '{command}': allowed are {}",
                    known.join(", ")
                )));
            };
            let value = if takes_value {
                match inline.or_else(|| it.next().cloned()) {
                    Some(v) => v,
                    None => return Err(Error::Usage(format!("--{name} needs a value"))),
                }
            } else {
                String::new()
            };
            values.insert(name.to_string(), value);
        }
        Ok(Args { command, values })
    }

    pub fn flag(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// A typed value, with a message naming the option and the value on failure.
    pub fn get<T: FromStr>(&self, name: &str) -> Result<Option<T>, Error> {
        match self.values.get(name) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                let wanted = match std::any::type_name::<T>() {
                    "usize" | "u64" | "u32" => "a whole number, 0 or more",
                    "f64" | "f32" => "a number",
                    _ => "a valid value",
                };
                Error::Usage(format!(
                    "--{name} '{v}' for '{}' is not {wanted}",
                    self.command
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_values_flags_and_reports_mistakes() {
        let specs = [("mode", true), ("samples", true), ("profile", false)];
        let a = Args::parse(
            "bench",
            &strings(&["--mode", "serial", "--samples=5", "--profile"]),
            &specs,
        )
        .unwrap();
        assert_eq!(a.text("mode"), Some("serial"));
        assert_eq!(a.get::<usize>("samples").unwrap(), Some(5));
        assert!(a.flag("profile"));
        let e = Args::parse("bench", &strings(&["--sample", "5"]), &specs)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains(
                "unknown option '--sample' for 'bench': allowed are --mode, --samples, --profile"
            ),
            "{e}"
        );
        let e = Args::parse("bench", &strings(&["--mode"]), &specs)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--mode needs a value"), "{e}");
        let a = Args::parse("bench", &strings(&["--samples", "x"]), &specs).unwrap();
        assert!(
            a.get::<usize>("samples")
                .unwrap_err()
                .to_string()
                .contains("--samples 'x' for 'bench' is not a whole number, 0 or more")
        );
    }
}
