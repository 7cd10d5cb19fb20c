//! The app's views: one enum for the tab bar, the `--tab` launch flag and the `tab` URL
//! parameter, so their names cannot drift apart.

use std::fmt;
use std::str::FromStr;

/// A view of the app. Its name (`Tab::name`) is the launch flag's value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Tab {
    #[default]
    Latency,
    Speedup,
    Profile,
    Live,
    Adapter,
    Classify,
    Accuracy,
}

impl Tab {
    /// In the tab bar's order.
    pub const ALL: [Tab; 7] = [
        Tab::Latency,
        Tab::Speedup,
        Tab::Profile,
        Tab::Live,
        Tab::Adapter,
        Tab::Classify,
        Tab::Accuracy,
    ];

    /// The launch flag's and URL parameter's value.
    pub fn name(self) -> &'static str {
        match self {
            Tab::Latency => "latency",
            Tab::Speedup => "speedup",
            Tab::Profile => "profile",
            Tab::Live => "live",
            Tab::Adapter => "adapter",
            Tab::Classify => "classify",
            Tab::Accuracy => "accuracy",
        }
    }

    /// What the tab bar shows.
    pub fn label(self) -> &'static str {
        match self {
            Tab::Latency => "Latency",
            Tab::Speedup => "Speedup & dispatches",
            Tab::Profile => "Per-op profile",
            Tab::Live => "Live",
            Tab::Adapter => "Adapter & correctness",
            Tab::Classify => "Classify",
            Tab::Accuracy => "Accuracy vs branches",
        }
    }
}

impl fmt::Display for Tab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Tab {
    type Err = String;

    fn from_str(s: &str) -> Result<Tab, String> {
        Tab::ALL.into_iter().find(|t| t.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Tab::ALL.iter().map(|t| t.name()).collect();
            format!("unknown tab '{s}': allowed are {}", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn names_labels_and_clap_agree() {
        for t in Tab::ALL {
            assert_eq!(t.name().parse::<Tab>(), Ok(t));
            // The launch flag (clap) spells every tab as `name` does.
            assert_eq!(t.to_possible_value().unwrap().get_name(), t.name(), "{t:?}");
            assert!(!t.label().is_empty());
        }
        assert_eq!(Tab::value_variants(), Tab::ALL);
        let e = "graphs".parse::<Tab>().unwrap_err();
        assert!(
            e.contains("unknown tab 'graphs'") && e.contains("accuracy"),
            "{e}"
        );
    }
}
